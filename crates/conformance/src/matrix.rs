//! The default matrix: the full product of level x mode x server TLS policy, plus every value
//! of every other axis against every level at least once.

use std::collections::BTreeSet;

use proto::ProtectionLevel;

use crate::case::{Behaviour, Case, Control, Key, Mode, Scenario, ServerTls};

/// Every case of the default matrix, sorted and without duplicates.
pub fn default_matrix() -> Vec<Case> {
    let mut cases = BTreeSet::new();

    // 1. The full product of the three main axes, with honest defaults elsewhere.
    for level in ProtectionLevel::ALL {
        for mode in Mode::ALL {
            for server in ServerTls::ALL {
                cases.insert(Case::core(level, mode, server));
            }
        }
    }

    // 2. Server behaviours against every level, where the behaviour means something.
    for level in ProtectionLevel::ALL {
        for mode in Mode::ALL {
            for behaviour in behaviours_for(mode) {
                let mut case = Case::core(level, mode, ServerTls::Both);
                case.behaviour = behaviour;
                cases.insert(case);
            }
        }
    }

    // 3. Certificate scenarios against every level (key types in rotation), and every
    //    scenario with every key type at `Ssl`, in both ways of securing a socket.
    for (i, scenario) in Scenario::ALL.into_iter().enumerate() {
        for (j, level) in ProtectionLevel::ALL.into_iter().enumerate() {
            let mut case = Case::core(level, Mode::Connect, ServerTls::Both);
            case.scenario = scenario;
            case.key = Key::ALL[(i + j) % Key::ALL.len()];
            cases.insert(case);
        }
        for key in Key::ALL {
            for (mode, server) in [
                (Mode::Connect, ServerTls::Both),
                (Mode::Smtp, ServerTls::Tls12Only),
            ] {
                let mut case = Case::core(ProtectionLevel::Ssl, mode, server);
                case.scenario = scenario;
                case.key = key;
                cases.insert(case);
            }
        }
    }

    // 4. Client controls against every level.
    for (j, level) in ProtectionLevel::ALL.into_iter().enumerate() {
        // The scenario's errors made ignorable: every ignorable scenario at this level, once.
        let mut case = Case::core(level, Mode::Connect, ServerTls::Both);
        case.control = Control::IgnoreScenarioErrors;
        case.scenario = Scenario::ALL[1 + j % (Scenario::ALL.len() - 1)];
        cases.insert(case);

        for server in [ServerTls::Both, ServerTls::Tls12Only] {
            let mut case = Case::core(level, Mode::Connect, server);
            case.control = Control::MinimumTls13;
            cases.insert(case);
        }
        for control in [Control::MutualTls, Control::MutualTlsWithoutCertificate] {
            for server in [ServerTls::Tls12Only, ServerTls::Tls13Only] {
                let mut case = Case::core(level, Mode::Connect, server);
                case.control = control;
                cases.insert(case);
            }
        }
    }
    // Every scenario with its errors made ignorable (fatal ones must still fail).
    for scenario in Scenario::ALL {
        for mode in [Mode::Connect, Mode::Imap] {
            let mut case = Case::core(ProtectionLevel::Ssl, mode, ServerTls::Both);
            case.scenario = scenario;
            case.control = Control::IgnoreScenarioErrors;
            cases.insert(case);
        }
    }
    // The wrong port, each way: implicit TLS against each STARTTLS dialect's server, at every
    // level; each STARTTLS dialect against the implicit-TLS server, at `Ssl` (those cases wait
    // for the client's timeout, and the level changes nothing of what they show).
    for level in ProtectionLevel::ALL {
        for behaviour in [
            Behaviour::SmtpPort,
            Behaviour::ImapPort,
            Behaviour::Pop3Port,
        ] {
            let mut case = Case::core(level, Mode::Connect, ServerTls::Both);
            case.behaviour = behaviour;
            cases.insert(case);
        }
    }
    for mode in [Mode::Smtp, Mode::Imap, Mode::Pop3] {
        let mut case = Case::core(ProtectionLevel::Ssl, mode, ServerTls::Both);
        case.behaviour = Behaviour::ImplicitPort;
        cases.insert(case);
    }
    // Mutual TLS through each dialect.
    for mode in Mode::ALL {
        let mut case = Case::core(ProtectionLevel::Ssl, mode, ServerTls::Both);
        case.control = Control::MutualTls;
        cases.insert(case);
    }

    cases.into_iter().collect()
}

/// The behaviours that mean something for a mode. Pruned, and why:
/// - STARTTLS advertisement, refusal and `TlsRequired` need a plaintext exchange: the line
///   dialects and MySQL (its greeting's `CLIENT_SSL`, an ERR greeting, ERR 3159), but for
///   PostgreSQL's refusal (`N`) and `TlsRequired` (PostgreSQL advertises nothing, so a server
///   without SSL is the refusal, and not-advertised would repeat it);
/// - PREAUTH is an IMAP greeting;
/// - response injection needs a plaintext phase: every upgrade mode (framed included: the
///   server writes unsolicited plaintext before the handshake);
/// - the handshake behaviours apply to every mode (a stall only waits for the client's
///   handshake timeout, and such a case holds no CPU slot).
pub fn behaviours_for(mode: Mode) -> Vec<Behaviour> {
    let mut out = vec![Behaviour::Honest, Behaviour::StallAfterGoAhead];
    out.extend([
        Behaviour::GarbageInsteadOfServerHello,
        Behaviour::CloseMidHandshake,
    ]);
    if mode.is_upgrade() {
        out.push(Behaviour::ResponseInjection);
    }
    if mode.can_refuse_tls() {
        out.extend([
            Behaviour::StartTlsNotAdvertised,
            Behaviour::StartTlsRefused,
            Behaviour::TlsRequired,
        ]);
    }
    if mode == Mode::Postgres {
        out.extend([Behaviour::StartTlsRefused, Behaviour::TlsRequired]);
    }
    if mode == Mode::Imap {
        out.push(Behaviour::Preauth);
    }
    out
}

/// Keeps the cases whose identifier contains every `&`-separated part of `expr`
/// (e.g. `Tls12/smtp` or `smtp&revoked`).
pub fn filter(cases: Vec<Case>, expr: &str) -> Vec<Case> {
    let parts: Vec<String> = expr
        .split('&')
        .map(|p| p.trim().to_ascii_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    cases
        .into_iter()
        .filter(|c| {
            let id = c.id().to_ascii_lowercase();
            parts.iter().all(|p| id.contains(p.as_str()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_full_product_of_the_main_axes_is_present() {
        let cases = default_matrix();
        for level in ProtectionLevel::ALL {
            for mode in Mode::ALL {
                for server in ServerTls::ALL {
                    assert!(cases.contains(&Case::core(level, mode, server)));
                }
            }
        }
    }

    #[test]
    fn every_value_of_every_other_axis_meets_every_level() {
        let cases = default_matrix();
        for level in ProtectionLevel::ALL {
            let at = |f: &dyn Fn(&Case) -> bool| cases.iter().any(|c| c.level == level && f(c));
            for scenario in Scenario::ALL {
                assert!(at(&|c| c.scenario == scenario), "{level} {scenario:?}");
            }
            for key in Key::ALL {
                assert!(at(&|c| c.key == key), "{level} {key:?}");
            }
            for control in [
                Control::Defaults,
                Control::IgnoreScenarioErrors,
                Control::MinimumTls13,
                Control::MutualTls,
                Control::MutualTlsWithoutCertificate,
            ] {
                assert!(at(&|c| c.control == control), "{level} {control:?}");
            }
            for mode in Mode::ALL {
                for behaviour in behaviours_for(mode) {
                    assert!(at(&|c| c.mode == mode && c.behaviour == behaviour));
                }
            }
        }
    }

    #[test]
    fn every_scenario_has_a_defaults_case_and_an_ignore_errors_case() {
        let cases = default_matrix();
        for scenario in Scenario::ALL {
            for control in [Control::Defaults, Control::IgnoreScenarioErrors] {
                assert!(
                    cases
                        .iter()
                        .any(|c| c.scenario == scenario && c.control == control),
                    "{scenario} {control:?}"
                );
            }
        }
    }

    #[test]
    fn filter_matches_every_part() {
        let cases = filter(default_matrix(), "Tls12/smtp&tls13/honest");
        assert!(!cases.is_empty());
        assert!(
            cases
                .iter()
                .all(|c| c.level == ProtectionLevel::Tls12 && c.mode == Mode::Smtp)
        );
    }
}
