//! Tests of the server audit's rules: one observation per finding, with and without it.

use super::*;
use crate::server::StartTlsAnswer;

fn completed(version: &str) -> Handshake {
    Handshake::Completed {
        version: version.to_owned(),
        suite: "TLS13_AES_256_GCM_SHA384".to_owned(),
    }
}

fn refused() -> Handshake {
    Handshake::Failed {
        kind: Some(streamsocket::ErrorKind::ProtocolVersionMismatch),
        error: "no version in common".to_owned(),
    }
}

fn raw(version: ProbeVersion, accepted: bool) -> RawProbe {
    let reply = if accepted {
        "server hello"
    } else {
        "fatal alert protocol_version"
    };
    RawProbe {
        version,
        accepted: Some(accepted),
        reply: reply.to_owned(),
    }
}

fn weak(weakness: Weakness, chosen: Option<u16>) -> WeakProbe {
    WeakProbe {
        weakness,
        chosen,
        probed: true,
        reply: "fatal alert handshake_failure".to_owned(),
    }
}

/// A safe SMTP server with TLS 1.3 and 1.2.
pub(crate) fn safe() -> Observations {
    Observations {
        dialect: Dialect::Smtp,
        greeting: true,
        greeting_host: None,
        capabilities_before: vec!["PIPELINING".into(), "STARTTLS".into()],
        starttls: StartTlsAnswer::GoAhead,
        capabilities_after: Some(vec!["PIPELINING".into(), "AUTH PLAIN".into()]),
        second_starttls: Some(false),
        ssl: completed("TLS 1.3"),
        tls12: completed("TLS 1.2"),
        tls13: completed("TLS 1.3"),
        suites: Vec::new(),
        groups: Vec::new(),
        legacy: ProbeVersion::LEGACY.map(|v| raw(v, false)).to_vec(),
        weak_suites: Weakness::ALL.map(|w| weak(w, None)).to_vec(),
        hello_retry: RetryProbe {
            retried: Some(true),
            group: Some("X25519".into()),
            reply: "hello retry request for group 0x001d".into(),
        },
        resumption: Resumption::default(),
        alpn: None,
        injection_same_write: Some(InjectionProbe::NotAnswered),
        injection_later_write: Some(InjectionProbe::Refused("handshake failed".into())),
        certificate: Some(Certificate {
            chain: Vec::new(),
            errors: Vec::new(),
            name: "localhost".into(),
            days_until_expiry: Some(365),
        }),
    }
}

fn kinds(obs: &Observations, rules: Rules) -> Vec<(FindingKind, Severity)> {
    let levels = levels(obs);
    findings(obs, &levels, rules)
        .into_iter()
        .map(|f| (f.kind, f.severity))
        .collect()
}

fn status(obs: &Observations, level: ProtectionLevel) -> LevelStatus {
    let row = levels(obs).into_iter().find(|row| row.level == level);
    row.map(|row| row.status).unwrap_or(LevelStatus::NotTested)
}

fn minimum(level: ProtectionLevel) -> Rules {
    Rules {
        require_min_level: Some(level),
    }
}

#[test]
fn a_safe_server_has_no_finding_and_every_level_a_status() {
    use LevelStatus::{Accepted, NotApplicable, Refused};
    use ProtectionLevel as L;

    let obs = safe();
    assert_eq!(kinds(&obs, Rules::default()), []);
    assert_eq!(levels(&obs).len(), ProtectionLevel::ALL.len());
    for (level, expected) in [
        (L::PlainSocket, Accepted),
        (L::Ssl, Accepted),
        (L::SslAllowNullEncryption, Refused),
        (L::BluetoothEncryptionAllowNullAuthentication, NotApplicable),
        (L::BluetoothEncryptionWithAuthentication, NotApplicable),
        (L::Ssl3AllowWeakEncryption, Refused),
        (L::Tls10, Refused),
        (L::Tls11, Refused),
        (L::Tls12, Accepted),
        (L::Unspecified, Accepted),
        (L::Tls13, Accepted),
    ] {
        assert_eq!(status(&obs, level), expected, "{level}");
    }
}

#[test]
fn implicit_tls_has_no_plaintext_level_and_no_starttls_findings() {
    let obs = Observations {
        dialect: Dialect::Implicit,
        greeting: false,
        capabilities_before: Vec::new(),
        capabilities_after: None,
        injection_same_write: None,
        injection_later_write: None,
        ..safe()
    };
    assert_eq!(
        status(&obs, ProtectionLevel::PlainSocket),
        LevelStatus::NotApplicable
    );
    assert_eq!(kinds(&obs, Rules::default()), []);
}

#[test]
fn legacy_versions_warn_and_ssl3_or_below_the_minimum_fails() {
    let mut obs = safe();
    obs.legacy = vec![
        raw(ProbeVersion::Ssl3, false),
        raw(ProbeVersion::Tls10, true),
        raw(ProbeVersion::Tls11, false),
    ];
    assert_eq!(status(&obs, ProtectionLevel::Tls10), LevelStatus::Accepted);
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::LegacyVersion, Severity::Warn)]
    );
    assert_eq!(
        kinds(&obs, minimum(ProtectionLevel::Tls12)),
        [(FindingKind::LegacyVersion, Severity::Fail)]
    );
    // TLS 1.0 is the minimum itself: a warning still.
    assert_eq!(
        kinds(&obs, minimum(ProtectionLevel::Tls10)),
        [(FindingKind::LegacyVersion, Severity::Warn)]
    );
    obs.legacy[0] = raw(ProbeVersion::Ssl3, true);
    assert_eq!(
        kinds(&obs, Rules::default()),
        [
            (FindingKind::LegacyVersion, Severity::Fail),
            (FindingKind::LegacyVersion, Severity::Warn)
        ]
    );
}

#[test]
fn tls12_fails_only_a_tls13_minimum() {
    let obs = safe();
    assert_eq!(
        kinds(&obs, minimum(ProtectionLevel::Tls13)),
        [(FindingKind::BelowMinimumLevel, Severity::Fail)]
    );
    assert_eq!(kinds(&obs, minimum(ProtectionLevel::Tls12)), []);
    let mut only13 = safe();
    only13.tls12 = refused();
    assert_eq!(kinds(&only13, minimum(ProtectionLevel::Tls13)), []);
    assert_eq!(
        status(&only13, ProtectionLevel::Tls12),
        LevelStatus::Refused
    );
}

#[test]
fn no_modern_tls_is_a_failure() {
    let mut obs = safe();
    obs.tls12 = refused();
    assert_eq!(kinds(&obs, Rules::default()), []);
    obs.tls13 = refused();
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::NoModernTls, Severity::Fail)]
    );
}

#[test]
fn weak_suites_fail_or_warn_by_weakness() {
    let mut obs = safe();
    obs.weak_suites[0] = weak(Weakness::Null, Some(0x0002));
    assert_eq!(
        status(&obs, ProtectionLevel::SslAllowNullEncryption),
        LevelStatus::Accepted
    );
    obs.weak_suites[4] = weak(Weakness::CbcSha1, Some(0x002f));
    assert_eq!(
        kinds(&obs, Rules::default()),
        [
            (FindingKind::WeakSuite, Severity::Fail),
            (FindingKind::WeakSuite, Severity::Warn)
        ]
    );
}

#[test]
fn starttls_not_advertised_refused_or_failed_fails() {
    for (answer, kind) in [
        (
            StartTlsAnswer::NotOffered,
            FindingKind::StartTlsNotAdvertised,
        ),
        (
            StartTlsAnswer::Refused("454 no".into()),
            FindingKind::StartTlsRefused,
        ),
        (
            StartTlsAnswer::Failed("closed".into()),
            FindingKind::StartTlsFailed,
        ),
    ] {
        let obs = Observations {
            starttls: answer,
            ..safe()
        };
        assert_eq!(kinds(&obs, Rules::default()), [(kind, Severity::Fail)]);
    }
}

#[test]
fn an_answered_injection_fails_in_either_variant() {
    let mut obs = safe();
    obs.injection_same_write = Some(InjectionProbe::Answered("250 OK".into()));
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::InjectionSameWrite, Severity::Fail)]
    );
    obs.injection_same_write = Some(InjectionProbe::NotTested("no".into()));
    obs.injection_later_write = Some(InjectionProbe::Answered("250 OK".into()));
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::InjectionLaterWrite, Severity::Fail)]
    );
}

#[test]
fn the_session_state_must_be_reset_and_announced_again() {
    let mut obs = safe();
    obs.capabilities_after = Some(vec!["STARTTLS".into()]);
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::StartTlsAfterUpgrade, Severity::Fail)]
    );
    obs.capabilities_after = None;
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::CapabilitiesNotReannounced, Severity::Fail)]
    );
    // Not announced because the handshake failed: no such finding.
    obs.ssl = refused();
    let found = kinds(&obs, Rules::default());
    assert!(!found.contains(&(FindingKind::CapabilitiesNotReannounced, Severity::Fail)));
}

#[test]
fn authentication_before_tls_warns() {
    let mut obs = safe();
    obs.capabilities_before.push("AUTH PLAIN LOGIN".into());
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::AuthBeforeTls, Severity::Warn)]
    );
}

#[test]
fn certificate_errors_fail_and_a_near_expiry_warns() {
    let mut obs = safe();
    let set = |obs: &mut Observations, errors: Vec<ChainValidationResult>, days: i64| {
        if let Some(cert) = obs.certificate.as_mut() {
            cert.errors = errors;
            cert.days_until_expiry = Some(days);
        }
    };
    let errors = vec![
        ChainValidationResult::Expired,
        ChainValidationResult::InvalidName,
    ];
    set(&mut obs, errors, -3);
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::CertificateErrors, Severity::Fail)]
    );
    set(&mut obs, Vec::new(), EXPIRY_WARNING_DAYS - 1);
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::CertificateExpiresSoon, Severity::Warn)]
    );
    set(&mut obs, Vec::new(), EXPIRY_WARNING_DAYS);
    assert_eq!(kinds(&obs, Rules::default()), []);
}

#[test]
fn a_second_starttls_accepted_inside_tls_fails() {
    let mut obs = safe();
    obs.second_starttls = Some(true);
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::StartTlsAcceptedTwice, Severity::Fail)]
    );
    obs.second_starttls = None;
    assert_eq!(kinds(&obs, Rules::default()), []);
}

#[test]
fn a_mode_mismatch_is_named_in_either_direction() {
    for answer in [StartTlsAnswer::TlsFirst, StartTlsAnswer::NoGreeting] {
        let obs = Observations {
            starttls: answer,
            greeting: false,
            ..safe()
        };
        assert_eq!(
            kinds(&obs, Rules::default()),
            [(FindingKind::ModeMismatch, Severity::Fail)]
        );
    }
    let plaintext = Handshake::Failed {
        kind: Some(streamsocket::ErrorKind::PlaintextInsteadOfTls),
        error: "the server answered in plaintext".into(),
    };
    let obs = Observations {
        dialect: Dialect::Implicit,
        ssl: plaintext.clone(),
        capabilities_after: None,
        ..safe()
    };
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::ModeMismatch, Severity::Fail)]
    );
    // The same error on a STARTTLS dialect is not this finding (the exchange said more).
    let obs = Observations {
        ssl: plaintext,
        ..safe()
    };
    assert!(!kinds(&obs, Rules::default()).contains(&(FindingKind::ModeMismatch, Severity::Fail)));
}

#[test]
fn plaintext_is_judged_only_for_line_dialects_and_by_the_greeting() {
    let silent = Observations {
        greeting: false,
        ..safe()
    };
    assert_eq!(
        status(&silent, ProtectionLevel::PlainSocket),
        LevelStatus::Refused
    );
    // A framed server may have sent bytes: it still has no plaintext level.
    let framed = Observations {
        dialect: Dialect::Framed,
        greeting: true,
        ..safe()
    };
    assert_eq!(
        status(&framed, ProtectionLevel::PlainSocket),
        LevelStatus::NotApplicable
    );
}

#[test]
fn a_tls13_server_that_does_not_ask_for_a_key_share_warns() {
    let mut obs = safe();
    obs.hello_retry = RetryProbe {
        retried: Some(false),
        group: None,
        reply: "fatal alert handshake_failure".into(),
    };
    let found = kinds(&obs, Rules::default());
    assert_eq!(found, [(FindingKind::NoHelloRetryRequest, Severity::Warn)]);
    let levels = levels(&obs);
    let message = findings(&obs, &levels, Rules::default())
        .into_iter()
        .map(|f| f.message)
        .collect::<String>();
    assert!(
        message.contains("fatal alert handshake_failure"),
        "{message}"
    );
    assert!(message.contains("RFC 8446"), "{message}");
    // Without TLS 1.3 the question does not arise, whatever the answer.
    obs.tls13 = refused();
    assert_eq!(kinds(&obs, Rules::default()), []);
    // Nor when TLS 1.3 was not tried, or the probe did not run.
    obs.tls13 = Handshake::NotAttempted;
    assert_eq!(kinds(&obs, Rules::default()), []);
    let mut unprobed = safe();
    unprobed.hello_retry = RetryProbe::not_probed("not probed");
    assert_eq!(kinds(&unprobed, Rules::default()), []);
    // The safe server retried: nothing.
    assert_eq!(kinds(&safe(), Rules::default()), []);
}

#[test]
fn a_greeting_that_names_the_host_warns() {
    let mut obs = safe();
    obs.greeting_host = Some("mail.example.com".into());
    assert_eq!(
        kinds(&obs, Rules::default()),
        [(FindingKind::GreetingHostName, Severity::Warn)]
    );
    let levels = levels(&obs);
    let found = findings(&obs, &levels, Rules::default());
    assert!(found[0].message.contains("mail.example.com"), "{found:?}");
    assert_eq!(kinds(&safe(), Rules::default()), []);
}

#[test]
fn names_are_the_reports_words() {
    assert_eq!(LevelStatus::NotApplicable.to_string(), "not applicable");
    assert_eq!(LevelStatus::NotTested.to_string(), "not tested");
    assert_eq!(LevelStatus::Accepted.to_string(), "accepted");
    assert_eq!(LevelStatus::Refused.to_string(), "refused");
    assert_eq!(Severity::Fail.to_string(), "FAIL");
    assert_eq!(Severity::Warn.to_string(), "WARN");
    assert_eq!(
        FindingKind::InjectionLaterWrite.to_string(),
        "injection-later-write"
    );
    // Display and serde agree on every id.
    for kind in [
        FindingKind::AuthBeforeTls,
        FindingKind::BelowMinimumLevel,
        FindingKind::CapabilitiesNotReannounced,
        FindingKind::CertificateErrors,
        FindingKind::CertificateExpiresSoon,
        FindingKind::GreetingHostName,
        FindingKind::InjectionLaterWrite,
        FindingKind::InjectionSameWrite,
        FindingKind::LegacyVersion,
        FindingKind::ModeMismatch,
        FindingKind::NoHelloRetryRequest,
        FindingKind::NoModernTls,
        FindingKind::StartTlsAcceptedTwice,
        FindingKind::StartTlsAfterUpgrade,
        FindingKind::StartTlsFailed,
        FindingKind::StartTlsNotAdvertised,
        FindingKind::StartTlsRefused,
        FindingKind::WeakSuite,
    ] {
        let json = serde_json::to_value(kind).expect("serialisable");
        assert_eq!(json.as_str(), Some(kind.id()), "{kind:?}");
        assert_eq!(kind.to_string(), kind.id());
    }
}

#[test]
fn messages_cite_what_forbids_a_version_and_details_say_what_was_negotiated() {
    let mut obs = safe();
    obs.legacy = vec![
        raw(ProbeVersion::Ssl3, true),
        raw(ProbeVersion::Tls10, true),
        raw(ProbeVersion::Tls11, false),
    ];
    let rows = levels(&obs);
    let messages: Vec<String> = findings(&obs, &rows, Rules::default())
        .into_iter()
        .map(|f| f.message)
        .collect();
    assert!(messages[0].starts_with("SSL 3.0 (Ssl3AllowWeakEncryption) accepted"));
    assert!(
        messages[0].ends_with("RFC 7568 prohibits it"),
        "{messages:?}"
    );
    assert!(
        messages[1].ends_with("RFC 8996 deprecates it"),
        "{messages:?}"
    );
    let detail = |level| {
        rows.iter()
            .find(|row| row.level == level)
            .map(|row| row.detail.clone())
            .unwrap_or_default()
    };
    assert_eq!(
        detail(ProtectionLevel::Tls12),
        "negotiated TLS 1.2, TLS13_AES_256_GCM_SHA384"
    );
    assert_eq!(
        detail(ProtectionLevel::Ssl3AllowWeakEncryption),
        "server hello"
    );
    let refused = Observations {
        tls13: Handshake::CertificateRefused {
            version: None,
            error: "revoked".into(),
        },
        ..safe()
    };
    let rows = levels(&refused);
    let tls13 = rows.iter().find(|row| row.level == ProtectionLevel::Tls13);
    assert_eq!(
        tls13.map(|row| (row.status, row.detail.as_str())),
        Some((LevelStatus::Accepted, "version accepted; revoked"))
    );
}

#[test]
fn mysql_is_judged_on_its_greeting_and_the_answer_to_its_ssl_request() {
    let mysql = Observations {
        dialect: Dialect::Mysql,
        capabilities_before: vec!["CLIENT_PROTOCOL_41".into(), "CLIENT_SSL".into()],
        capabilities_after: None,
        second_starttls: None,
        injection_same_write: None,
        injection_later_write: None,
        ..safe()
    };
    assert_eq!(kinds(&mysql, Rules::default()), []);
    assert_eq!(
        status(&mysql, ProtectionLevel::PlainSocket),
        LevelStatus::Accepted
    );
    let stripped = Observations {
        starttls: StartTlsAnswer::NotOffered,
        ssl: Handshake::NotAttempted,
        ..mysql
    };
    assert!(
        kinds(&stripped, Rules::default())
            .contains(&(FindingKind::StartTlsNotAdvertised, Severity::Fail))
    );
}
