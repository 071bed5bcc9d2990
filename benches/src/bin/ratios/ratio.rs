//! The ratio tables: what each ratio divides and the target it is judged by.

/// How a ratio is judged.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Target {
    AtLeast(f64),
    AtMost(f64),
    Reported,
}

impl Target {
    pub(crate) fn describe(self) -> String {
        match self {
            Self::AtLeast(t) => format!(">= {t}"),
            Self::AtMost(t) => format!("<= {t}"),
            Self::Reported => "reported".to_owned(),
        }
    }

    pub(crate) fn met(self, value: f64) -> Option<bool> {
        match self {
            Self::AtLeast(t) => Some(value >= t),
            Self::AtMost(t) => Some(value <= t),
            Self::Reported => None,
        }
    }
}

/// What a ratio divides: a figure by a figure, or by an additive model.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Denominator {
    Figure(&'static str),
    /// 1/(1/M + 1/plain_TCP), per round, from these two figures: the in-memory work and the
    /// socket work done one after the other (bulk bytes, or handshake units).
    AdditiveModel {
        m: &'static str,
        tcp: &'static str,
    },
}

/// A row of the ratio table (the project against rustls alone and against the wire).
pub(crate) struct RatioSpec {
    pub(crate) key: &'static str,
    pub(crate) what: &'static str,
    /// P's figure.
    pub(crate) numerator: &'static str,
    /// R's figure for the same ratio in this run, if the ratio has an R counterpart.
    pub(crate) r_numerator: Option<&'static str>,
    pub(crate) denominator: Denominator,
    pub(crate) target: Target,
    /// What R reached when the issue was written.
    pub(crate) reference: Option<f64>,
}

pub(crate) const RATIOS: &[RatioSpec] = &[
    RatioSpec {
        key: "h1_handshake_vs_inmemory",
        what: "P full TLS 1.3 handshakes/s / M",
        numerator: "p_handshake_per_s",
        r_numerator: Some("r_handshake_per_s"),
        denominator: Denominator::Figure("m_handshake_per_s"),
        target: Target::AtLeast(0.95),
        reference: Some(0.86),
    },
    RatioSpec {
        key: "h2_handshake_vs_tokio_rustls",
        what: "P / R, full TLS 1.3",
        numerator: "p_handshake_per_s",
        r_numerator: Some("r_handshake_per_s"),
        denominator: Denominator::Figure("r_handshake_per_s"),
        target: Target::AtLeast(1.0),
        reference: Some(1.0),
    },
    RatioSpec {
        key: "h3_resumed_vs_inmemory",
        what: "P resumed TLS 1.3 / M resumed",
        numerator: "p_resumed_per_s",
        r_numerator: Some("r_resumed_per_s"),
        denominator: Denominator::Figure("m_resumed_per_s"),
        target: Target::AtLeast(0.90),
        reference: Some(0.80),
    },
    RatioSpec {
        key: "h4_starttls_vs_connect",
        what: "P SMTP STARTTLS session rate / P direct TLS rate",
        numerator: "p_starttls_smtp_per_s",
        r_numerator: None,
        denominator: Denominator::Figure("p_handshake_per_s"),
        target: Target::AtLeast(0.97),
        reference: Some(0.97),
    },
    RatioSpec {
        key: "h5_two_workers_vs_inmemory",
        what: "P on a 2-worker runtime, 4 concurrent / M single core",
        numerator: "p_two_workers_per_s",
        r_numerator: Some("r_two_workers_per_s"),
        denominator: Denominator::Figure("m_handshake_per_s"),
        target: Target::AtLeast(1.6),
        reference: Some(1.33),
    },
    RatioSpec {
        key: "h6_handshake_vs_openssl",
        what: "P / openssl s_server + s_time -new -tls1_3, X25519 pinned",
        numerator: "p_handshake_per_s",
        r_numerator: Some("r_handshake_per_s"),
        denominator: Denominator::Figure("openssl_handshake_per_s"),
        target: Target::AtLeast(2.3),
        reference: Some(2.3),
    },
    RatioSpec {
        key: "b1_bulk_vs_tcp",
        what: "P TLS 1.3 AES-128-GCM bulk / plain TCP",
        numerator: "p_bulk_bytes_per_s",
        r_numerator: Some("r_bulk_bytes_per_s"),
        denominator: Denominator::Figure("tcp_bulk_bytes_per_s"),
        target: Target::Reported,
        reference: Some(0.35),
    },
    RatioSpec {
        key: "b2_bulk_vs_model",
        what: "P bulk / 1/(1/M_bulk + 1/plain_TCP)",
        numerator: "p_bulk_bytes_per_s",
        r_numerator: Some("r_bulk_bytes_per_s"),
        denominator: Denominator::AdditiveModel {
            m: "m_bulk_bytes_per_s",
            tcp: "tcp_bulk_bytes_per_s",
        },
        target: Target::AtLeast(0.97),
        reference: Some(0.98),
    },
    RatioSpec {
        key: "b3_bulk_vs_openssl",
        what: "P bulk / openssl s_time -www transfer",
        numerator: "p_bulk_bytes_per_s",
        r_numerator: Some("r_bulk_bytes_per_s"),
        denominator: Denominator::Figure("openssl_bulk_bytes_per_s"),
        target: Target::AtLeast(1.8),
        reference: Some(1.7),
    },
    RatioSpec {
        key: "i1_instructions_vs_inmemory",
        what: "callgrind instructions per handshake, P / M",
        numerator: "p_instructions_per_handshake",
        r_numerator: Some("r_instructions_per_handshake"),
        denominator: Denominator::Figure("m_instructions_per_handshake"),
        target: Target::AtMost(1.02),
        reference: Some(1.01),
    },
];

/// Ratios beyond the ratio table that explain it: the same ratios in CPU time (less disturbed
/// by other load on a shared machine), and noise-free instruction and system-call counts.
pub(crate) const SUPPLEMENTARY: &[RatioSpec] = &[
    RatioSpec {
        key: "c1_loopback_ceiling_vs_inmemory",
        what: "the most h1 can reach: 1/(1/M + 1/plain TCP unit) / M",
        numerator: "model_handshake_per_s",
        r_numerator: None,
        denominator: Denominator::Figure("m_handshake_per_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "c2_loopback_ceiling_resumed_vs_inmemory",
        what: "the most h3 can reach: 1/(1/M resumed + 1/plain TCP unit) / M resumed",
        numerator: "model_resumed_per_s",
        r_numerator: None,
        denominator: Denominator::Figure("m_resumed_per_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "c5_starttls_ceiling_vs_connect",
        what: "the most h4 can reach: P direct with the SMTP exchange's round trips added at plain-TCP cost, / P direct",
        numerator: "model_starttls_per_s",
        r_numerator: None,
        denominator: Denominator::Figure("p_handshake_per_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "c3_handshake_vs_loopback_model",
        what: "P full TLS 1.3 / 1/(1/M + 1/plain TCP unit)",
        numerator: "p_handshake_per_s",
        r_numerator: Some("r_handshake_per_s"),
        denominator: Denominator::AdditiveModel {
            m: "m_handshake_per_s",
            tcp: "tcp_connect_per_s",
        },
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "c4_resumed_vs_loopback_model",
        what: "P resumed TLS 1.3 / 1/(1/M resumed + 1/plain TCP unit)",
        numerator: "p_resumed_per_s",
        r_numerator: Some("r_resumed_per_s"),
        denominator: Denominator::AdditiveModel {
            m: "m_resumed_per_s",
            tcp: "tcp_connect_per_s",
        },
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "h1_cpu_handshake_vs_inmemory",
        what: "as h1, per CPU-second of the one thread",
        numerator: "p_handshake_per_cpu_s",
        r_numerator: Some("r_handshake_per_cpu_s"),
        denominator: Denominator::Figure("m_handshake_per_cpu_s"),
        target: Target::AtLeast(0.95),
        reference: None,
    },
    RatioSpec {
        key: "h2_cpu_handshake_vs_tokio_rustls",
        what: "as h2, per CPU-second",
        numerator: "p_handshake_per_cpu_s",
        r_numerator: Some("r_handshake_per_cpu_s"),
        denominator: Denominator::Figure("r_handshake_per_cpu_s"),
        target: Target::AtLeast(1.0),
        reference: None,
    },
    RatioSpec {
        key: "h3_cpu_resumed_vs_inmemory",
        what: "as h3, per CPU-second",
        numerator: "p_resumed_per_cpu_s",
        r_numerator: Some("r_resumed_per_cpu_s"),
        denominator: Denominator::Figure("m_resumed_per_cpu_s"),
        target: Target::AtLeast(0.90),
        reference: None,
    },
    RatioSpec {
        key: "h4_cpu_starttls_vs_connect",
        what: "as h4, per CPU-second",
        numerator: "p_starttls_smtp_per_cpu_s",
        r_numerator: None,
        denominator: Denominator::Figure("p_handshake_per_cpu_s"),
        target: Target::AtLeast(0.97),
        reference: None,
    },
    RatioSpec {
        key: "b1_cpu_bulk_vs_tcp",
        what: "as b1, per CPU-second",
        numerator: "p_bulk_bytes_per_cpu_s",
        r_numerator: Some("r_bulk_bytes_per_cpu_s"),
        denominator: Denominator::Figure("tcp_bulk_bytes_per_cpu_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "b2_cpu_bulk_vs_model",
        what: "as b2, per CPU-second",
        numerator: "p_bulk_bytes_per_cpu_s",
        r_numerator: Some("r_bulk_bytes_per_cpu_s"),
        denominator: Denominator::AdditiveModel {
            m: "m_bulk_bytes_per_cpu_s",
            tcp: "tcp_bulk_bytes_per_cpu_s",
        },
        target: Target::AtLeast(0.97),
        reference: None,
    },
    RatioSpec {
        key: "d1_mock_server_vs_tokio_rustls_server",
        what: "the server half: tokio-rustls client + mock server / R, per CPU-second",
        numerator: "x_tokio_client_mock_server_per_cpu_s",
        r_numerator: None,
        denominator: Denominator::Figure("r_handshake_per_cpu_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "d2_streamsocket_client_vs_tokio_rustls_client",
        what: "the client half: StreamSocket + tokio-rustls echo server / R, per CPU-second",
        numerator: "x_streamsocket_client_tokio_server_per_cpu_s",
        r_numerator: None,
        denominator: Denominator::Figure("r_handshake_per_cpu_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "i3_resumed_instructions_vs_inmemory",
        what: "callgrind instructions per resumed handshake, P / M",
        numerator: "p_instructions_per_resumed",
        r_numerator: Some("r_instructions_per_resumed"),
        denominator: Denominator::Figure("m_instructions_per_resumed"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "i4_starttls_instructions_vs_connect",
        what: "callgrind instructions, P SMTP STARTTLS session / P direct TLS unit",
        numerator: "p_instructions_per_smtp_session",
        r_numerator: None,
        denominator: Denominator::Figure("p_instructions_per_handshake"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "x1_cert_summary_share_of_handshake",
        what: "share of a P full handshake unit's CPU time spent in CertificateSummary::from_der",
        numerator: "p_handshake_per_cpu_s",
        r_numerator: None,
        denominator: Denominator::Figure("p_cert_summaries_per_cpu_s"),
        target: Target::Reported,
        reference: None,
    },
    RatioSpec {
        key: "i5_ignorable_verifier_instructions_vs_default",
        what: "callgrind instructions, P with every ignorable class ignored / P default verifier",
        numerator: "p_instructions_per_handshake_ignoring",
        r_numerator: None,
        denominator: Denominator::Figure("p_instructions_per_handshake"),
        target: Target::AtMost(1.01),
        reference: None,
    },
    RatioSpec {
        key: "s1_syscalls_vs_tokio_rustls",
        what: "system calls per full handshake unit, P / R",
        numerator: "p_syscalls_per_handshake",
        r_numerator: None,
        denominator: Denominator::Figure("r_syscalls_per_handshake"),
        target: Target::Reported,
        reference: None,
    },
];
