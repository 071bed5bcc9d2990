//! Checks that need no socket: the core's policy table against the oracle's, for every level
//! and minimum, and the dialect machines against each other.

use proto::level::{Operation, Permit, Refusal, RefusalReason, decide};
use proto::{ProtectionLevel, TlsVersion};
use serde::Serialize;

use crate::oracle::{Failure, LevelVerdict, Version, level_verdict, minimum_verdict};

/// One in-memory check: what the oracle expects, what the core did.
#[derive(Clone, Debug, Serialize)]
pub struct Check {
    /// Which table and row.
    pub name: String,
    /// The oracle's verdict, printed.
    pub expected: String,
    /// The implementation's result, printed.
    pub observed: String,
    /// Whether they agree.
    pub pass: bool,
}

/// Every level with every minimum (none, and each level), in connect and in upgrade form, and
/// every level set as the minimum.
pub fn policy_table() -> Vec<Check> {
    let minimums = std::iter::once(None).chain(ProtectionLevel::ALL.map(Some));
    let mut checks = Vec::new();
    for minimum in minimums {
        for level in ProtectionLevel::ALL {
            for upgrade in [false, true] {
                let expected = level_verdict(level, minimum, upgrade);
                let operation = if upgrade {
                    Operation::Upgrade { level, minimum }
                } else {
                    Operation::Connect { level, minimum }
                };
                let observed = observe(decide(operation));
                checks.push(Check {
                    name: format!(
                        "policy {level} min={} {}",
                        minimum.map_or_else(|| "none".to_owned(), |m| m.to_string()),
                        if upgrade { "upgrade" } else { "connect" }
                    ),
                    expected: format!("{expected:?}"),
                    observed: observed.as_ref().map_or_else(
                        || "a kept minimum".to_owned(),
                        |verdict| format!("{verdict:?}"),
                    ),
                    pass: Some(expected) == observed,
                });
            }
        }
    }
    for minimum in ProtectionLevel::ALL {
        let expected = minimum_verdict(minimum);
        let observed = decide(Operation::SetMinimum { minimum })
            .map(|_permit| ())
            .map_err(failure);
        checks.push(Check {
            name: format!("policy set-minimum {minimum}"),
            expected: format!("{expected:?}"),
            observed: format!("{observed:?}"),
            pass: expected == observed,
        });
    }
    checks
}

/// The core's answer to a connect or an upgrade in the oracle's vocabulary; `None` for an
/// answer that a connect or an upgrade must never get (keeping a minimum).
fn observe(answer: Result<Permit, Refusal>) -> Option<LevelVerdict> {
    Some(match answer {
        Ok(Permit::Plaintext) => LevelVerdict::Plaintext,
        Ok(Permit::Tls(set)) => LevelVerdict::Offer(
            set.versions()
                .into_iter()
                .map(|v| match v {
                    TlsVersion::Tls12 => Version::Tls12,
                    TlsVersion::Tls13 => Version::Tls13,
                })
                .collect(),
        ),
        Ok(Permit::SetMinimum) => return None,
        Err(refusal) => LevelVerdict::Refuse(failure(refusal)),
    })
}

/// A refusal of the core in the oracle's vocabulary.
fn failure(refusal: Refusal) -> Failure {
    match refusal.reason() {
        RefusalReason::Unsupported(_) => Failure::UnsupportedLevel,
        RefusalReason::Invalid(_) => Failure::InvalidArgument,
    }
}

/// What the oracle expects of an in-memory STARTTLS exchange (written from DESIGN.md and the
/// RFCs, not from the machines).
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
enum DialectExpect {
    /// TLS starts and the client gets its fresh post-TLS capability list.
    Ready,
    /// The server did not offer STARTTLS (stripping, or IMAP PREAUTH).
    NotOffered,
    /// The server refused STARTTLS.
    Refused,
    /// Plaintext after the go-ahead: the client stops before TLS.
    Injected,
    /// The server closed the session because of pipelined bytes after STARTTLS.
    ServerClosed,
}

/// Every dialect's honest and hostile exchanges, client machine against server machine, plus
/// command injection under each server policy.
pub fn dialects() -> Vec<Check> {
    use proto::starttls::{
        ClientSettings, Dialect, InMemoryOptions, InjectionPolicy, ServerBehaviour, ServerSettings,
        run_in_memory_with,
    };

    let server = |behaviour: ServerBehaviour, policy: InjectionPolicy| ServerSettings {
        behaviour,
        injection_policy: policy,
        ..ServerSettings::default()
    };
    let mut checks = Vec::new();
    for dialect in [Dialect::Framed, Dialect::Implicit] {
        let outcome = run_in_memory_with(
            dialect,
            ClientSettings::default(),
            ServerSettings::default(),
            &InMemoryOptions::default(),
        );
        checks.push(check_dialect(
            dialect,
            "honest",
            DialectExpect::Ready,
            &outcome,
        ));
    }
    // MySQL: the same outcomes from its greeting; its injection rules are layer 1's own tests.
    for (name, behaviour, expect) in [
        ("honest", ServerBehaviour::Honest, DialectExpect::Ready),
        (
            "tls-required",
            ServerBehaviour::TlsRequired,
            DialectExpect::Ready,
        ),
        (
            "not-advertised",
            ServerBehaviour::StartTlsNotAdvertised,
            DialectExpect::NotOffered,
        ),
        (
            "refused",
            ServerBehaviour::StartTlsRefused(proto::starttls::Refusal::Temporary),
            DialectExpect::Refused,
        ),
        (
            "response-injection",
            ServerBehaviour::ResponseInjection(b"\x01\x00\x00\x02\x00".to_vec()),
            DialectExpect::Injected,
        ),
    ] {
        let outcome = run_in_memory_with(
            Dialect::Mysql,
            ClientSettings::default(),
            server(behaviour, InjectionPolicy::Discard),
            &InMemoryOptions::default(),
        );
        checks.push(check_dialect(Dialect::Mysql, name, expect, &outcome));
    }
    for dialect in [
        Dialect::Ftp,
        Dialect::Smtp,
        Dialect::Lmtp,
        Dialect::Imap,
        Dialect::Irc,
        Dialect::Pop3,
        Dialect::Nntp,
        Dialect::Sieve,
        Dialect::Postgres,
    ] {
        // PostgreSQL advertises nothing: a server without SSL answers `N`, a refusal.
        let not_advertised = if dialect == Dialect::Postgres {
            DialectExpect::Refused
        } else {
            DialectExpect::NotOffered
        };
        let mut cases = vec![
            ("honest", ServerBehaviour::Honest, DialectExpect::Ready),
            (
                "tls-required",
                ServerBehaviour::TlsRequired,
                DialectExpect::Ready,
            ),
            (
                "not-advertised",
                ServerBehaviour::StartTlsNotAdvertised,
                not_advertised,
            ),
            (
                "refused",
                ServerBehaviour::StartTlsRefused(proto::starttls::Refusal::Temporary),
                DialectExpect::Refused,
            ),
            (
                "response-injection",
                ServerBehaviour::ResponseInjection(b"250 injected\r\n".to_vec()),
                DialectExpect::Injected,
            ),
        ];
        if dialect == Dialect::Imap {
            cases.push((
                "preauth",
                ServerBehaviour::Preauth,
                DialectExpect::NotOffered,
            ));
        }
        for (name, behaviour, expect) in cases {
            let outcome = run_in_memory_with(
                dialect,
                ClientSettings::default(),
                server(behaviour, InjectionPolicy::Discard),
                &InMemoryOptions::default(),
            );
            checks.push(check_dialect(dialect, name, expect, &outcome));
        }

        // Command injection (CVE-2011-0411 class): a command pipelined after STARTTLS in the
        // same write. What the server says inside TLS is compared with the honest session.
        let honest = run_in_memory_with(
            dialect,
            ClientSettings::default(),
            server(ServerBehaviour::Honest, InjectionPolicy::Discard),
            &InMemoryOptions::default(),
        );
        let injected: &[u8] = match dialect {
            Dialect::Imap => b"X1 NOOP\r\n",
            // NNTP has no NOOP (RFC 3977); HELP is answered by every server.
            Dialect::Nntp => b"HELP\r\n",
            // A StartupMessage (protocol 3.0, user "u") right after the SSLRequest.
            Dialect::Postgres => &[
                0, 0, 0, 16, 0, 3, 0, 0, b'u', b's', b'e', b'r', 0, b'u', 0, 0,
            ],
            // RFC 2812 section 3.7.2: PING is answered before registration too.
            Dialect::Irc => b"PING :injected\r\n",
            _ => b"NOOP\r\n",
        };
        let options = InMemoryOptions {
            inject_after_starttls: injected.to_vec(),
        };
        for (name, policy) in [
            ("injection-discard", InjectionPolicy::Discard),
            ("injection-reject", InjectionPolicy::Reject),
            ("injection-vulnerable", InjectionPolicy::Vulnerable),
        ] {
            let outcome = run_in_memory_with(
                dialect,
                ClientSettings::default(),
                server(ServerBehaviour::Honest, policy),
                &options,
            );
            let answered_inside_tls = outcome.server_protected != honest.server_protected;
            let (expected, observed) = match policy {
                InjectionPolicy::Discard => (
                    "ready, nothing injected answered, bytes counted".to_owned(),
                    format!(
                        "ready={} answered={} discarded={}",
                        outcome.is_ready(),
                        answered_inside_tls,
                        outcome.injected_discarded
                    ),
                ),
                InjectionPolicy::Reject => (
                    "no TLS session, server closed".to_owned(),
                    format!(
                        "tls={} closed={:?}",
                        outcome.tls_established,
                        outcome.close_reason()
                    ),
                ),
                InjectionPolicy::Vulnerable => (
                    "ready, injected command answered inside TLS".to_owned(),
                    format!(
                        "ready={} answered={}",
                        outcome.is_ready(),
                        answered_inside_tls
                    ),
                ),
            };
            let pass = match policy {
                InjectionPolicy::Discard => {
                    outcome.is_ready()
                        && !answered_inside_tls
                        && outcome.injected_discarded == injected.len()
                }
                InjectionPolicy::Reject => !outcome.is_ready() && outcome.close_reason().is_some(),
                // The answer to the injected command reaches the client inside TLS, where it may
                // well confuse the client: only the answer itself is the contract here.
                InjectionPolicy::Vulnerable => outcome.tls_established && answered_inside_tls,
            };
            checks.push(Check {
                name: format!("dialect {dialect} {name}"),
                expected,
                observed,
                pass,
            });
        }
    }
    checks
}

fn check_dialect(
    dialect: proto::starttls::Dialect,
    name: &str,
    expect: DialectExpect,
    outcome: &proto::starttls::InMemoryOutcome,
) -> Check {
    use proto::starttls::ClientFailure;

    let observed = match (outcome.is_ready(), outcome.failure()) {
        (true, _) => Some(DialectExpect::Ready),
        (false, Some(ClientFailure::NotOffered { .. } | ClientFailure::Preauth { .. })) => {
            Some(DialectExpect::NotOffered)
        }
        (false, Some(ClientFailure::Refused { .. })) => Some(DialectExpect::Refused),
        (false, Some(ClientFailure::PlaintextAfterGoAhead { .. })) => Some(DialectExpect::Injected),
        (false, _) if outcome.close_reason().is_some() => Some(DialectExpect::ServerClosed),
        _ => None,
    };
    // A client that failed must not have reached TLS, and nothing may have been sent inside
    // a TLS session that never started.
    let consistent = match expect {
        DialectExpect::Ready => outcome.tls_established,
        _ => !outcome.tls_established && outcome.client_protected.is_empty(),
    };
    Check {
        name: format!("dialect {dialect} {name}"),
        expected: format!("{expect:?}"),
        observed: format!("{observed:?} tls={}", outcome.tls_established),
        pass: observed == Some(expect) && consistent,
    }
}

#[cfg(test)]
mod tests;
