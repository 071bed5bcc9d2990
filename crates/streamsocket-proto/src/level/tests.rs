//! Unit tests of the protection levels and the policy table.

use super::*;

use ProtectionLevel as L;

#[test]
fn numeric_values_match_the_winrt_enum() {
    let expected = [
        (L::PlainSocket, 0),
        (L::Ssl, 1),
        (L::SslAllowNullEncryption, 2),
        (L::BluetoothEncryptionAllowNullAuthentication, 3),
        (L::BluetoothEncryptionWithAuthentication, 4),
        (L::Ssl3AllowWeakEncryption, 5),
        (L::Tls10, 6),
        (L::Tls11, 7),
        (L::Tls12, 8),
        (L::Unspecified, 9),
        (L::Tls13, 10),
    ];
    for (level, value) in expected {
        assert_eq!(level.value(), value, "{level}");
        assert_eq!(L::from_value(value), Some(level));
    }
    assert_eq!(L::from_value(11), None);
}

#[test]
fn names_round_trip_through_display_and_from_str() {
    for level in L::ALL {
        assert_eq!(level.to_string().parse::<L>(), Ok(level));
        assert_eq!(level.to_string().to_uppercase().parse::<L>(), Ok(level));
        assert_eq!(level.value().to_string().parse::<L>(), Ok(level));
    }
}

#[test]
fn short_forms_parse() {
    for (text, level) in [
        ("plain", L::PlainSocket),
        ("tls1.2", L::Tls12),
        ("TLS1.3", L::Tls13),
        ("tls12", L::Tls12),
        ("tls_1_3", L::Tls13),
        ("tls1.0", L::Tls10),
        ("tls1.1", L::Tls11),
        ("ssl3", L::Ssl3AllowWeakEncryption),
        ("ssl", L::Ssl),
    ] {
        assert_eq!(text.parse::<L>(), Ok(level), "{text}");
    }
    assert!("tls1.4".parse::<L>().is_err());
    assert!("".parse::<L>().is_err());
    assert!("12".parse::<L>().is_err());
}

#[test]
fn serde_uses_the_winrt_name() {
    let json = serde_json::to_string(&L::SslAllowNullEncryption).unwrap();
    assert_eq!(json, "\"SslAllowNullEncryption\"");
    let back: L = serde_json::from_str("\"Tls13\"").unwrap();
    assert_eq!(back, L::Tls13);
}

fn connect(level: L, minimum: Option<L>) -> Operation {
    Operation::Connect { level, minimum }
}

fn upgrade(level: L, minimum: Option<L>) -> Operation {
    Operation::Upgrade { level, minimum }
}

/// No minimum, and each level as the minimum.
fn minimums() -> impl Iterator<Item = Option<L>> {
    std::iter::once(None).chain(L::ALL.map(Some))
}

/// Every question the table answers: each level connected and upgraded under every minimum,
/// and each level set as the minimum.
fn every_operation() -> Vec<Operation> {
    let mut operations = Vec::new();
    for level in L::ALL {
        for minimum in minimums() {
            operations.push(connect(level, minimum));
            operations.push(upgrade(level, minimum));
        }
        operations.push(Operation::SetMinimum { minimum: level });
    }
    operations
}

/// One row of the policy table: the operation and the answer it must get.
fn check(operation: Operation, expected: Result<Permit, RefusalReason>) {
    assert_eq!(
        decide(operation).map_err(Refusal::reason),
        expected,
        "{operation:?}"
    );
}

fn tls(versions: VersionSet) -> Result<Permit, RefusalReason> {
    Ok(Permit::Tls(versions))
}

fn invalid(reason: InvalidReason) -> Result<Permit, RefusalReason> {
    Err(RefusalReason::Invalid(reason))
}

fn unsupported(reason: UnsupportedReason) -> Result<Permit, RefusalReason> {
    Err(RefusalReason::Unsupported(reason))
}

/// The README's protection-level table, written out again as data without looking at
/// `decide`: the versions each level offers (newest first) or why it offers none, and the
/// lowest version each minimum keeps.
mod oracle {
    use super::*;
    use TlsVersion::{Tls12, Tls13};

    enum Row {
        Plain,
        Offers(&'static [TlsVersion]),
        Refused(RefusalReason),
    }

    fn row(level: L) -> Row {
        match level {
            L::PlainSocket => Row::Plain,
            L::Ssl | L::SslAllowNullEncryption | L::Unspecified => Row::Offers(&[Tls13, Tls12]),
            L::Tls12 => Row::Offers(&[Tls12]),
            L::Tls13 => Row::Offers(&[Tls13]),
            L::Ssl3AllowWeakEncryption => Row::Refused(RefusalReason::Unsupported(
                UnsupportedReason::Ssl3Prohibited,
            )),
            L::Tls10 | L::Tls11 => Row::Refused(RefusalReason::Unsupported(
                UnsupportedReason::LegacyTlsDeprecated,
            )),
            L::BluetoothEncryptionAllowNullAuthentication
            | L::BluetoothEncryptionWithAuthentication => {
                Row::Refused(RefusalReason::Invalid(InvalidReason::BluetoothOnTcp))
            }
        }
    }

    /// The lowest version a minimum keeps: `Ok(None)` when it keeps everything offered.
    fn lowest_kept(minimum: L) -> Result<Option<TlsVersion>, RefusalReason> {
        match minimum {
            L::Tls13 => Ok(Some(Tls13)),
            L::Tls12 | L::Ssl | L::SslAllowNullEncryption => Ok(Some(Tls12)),
            L::PlainSocket | L::Unspecified | L::Ssl3AllowWeakEncryption | L::Tls10 | L::Tls11 => {
                Ok(None)
            }
            L::BluetoothEncryptionAllowNullAuthentication
            | L::BluetoothEncryptionWithAuthentication => {
                Err(RefusalReason::Invalid(InvalidReason::BadMinimum))
            }
        }
    }

    fn set(versions: &[TlsVersion]) -> Option<VersionSet> {
        match versions {
            [Tls13, Tls12] => Some(VersionSet::BOTH),
            [Tls12] => Some(VersionSet::TLS12_ONLY),
            [Tls13] => Some(VersionSet::TLS13_ONLY),
            _ => None,
        }
    }

    pub(super) fn answer(operation: Operation) -> Result<Permit, RefusalReason> {
        let (level, minimum, upgrade) = match operation {
            Operation::SetMinimum { minimum } => {
                return lowest_kept(minimum).map(|_| Permit::SetMinimum);
            }
            Operation::Connect { level, minimum } => (level, minimum, false),
            Operation::Upgrade { level, minimum } => (level, minimum, true),
        };
        let offered = match row(level) {
            Row::Refused(reason) => return Err(reason),
            Row::Plain if upgrade => {
                return Err(RefusalReason::Invalid(InvalidReason::PlainSocketUpgrade));
            }
            // README: the minimum governs the upgrade that follows, not the plaintext connect.
            Row::Plain => return Ok(Permit::Plaintext),
            Row::Offers(versions) => versions,
        };
        let lowest = match minimum {
            Some(minimum) => lowest_kept(minimum)?,
            None => None,
        };
        let kept: Vec<TlsVersion> = offered
            .iter()
            .copied()
            .filter(|v| lowest.is_none_or(|lowest| *v >= lowest))
            .collect();
        set(&kept)
            .map(Permit::Tls)
            .ok_or(RefusalReason::Invalid(InvalidReason::MinimumAboveRequested))
    }
}

#[test]
fn every_operation_follows_the_table_written_out_again() {
    let operations = every_operation();
    assert_eq!(operations.len(), 11 * 12 * 2 + 11);
    for operation in operations {
        check(operation, oracle::answer(operation));
    }
}

#[test]
fn every_refusal_names_the_operation_it_answers() {
    for operation in every_operation() {
        if let Err(refusal) = decide(operation) {
            assert_eq!(refusal.operation(), operation);
        }
    }
}

#[test]
fn every_level_without_a_minimum_follows_the_table() {
    for operation in [connect, upgrade] {
        check(operation(L::Ssl, None), tls(VersionSet::BOTH));
        check(
            operation(L::SslAllowNullEncryption, None),
            tls(VersionSet::BOTH),
        );
        check(
            operation(L::BluetoothEncryptionAllowNullAuthentication, None),
            invalid(InvalidReason::BluetoothOnTcp),
        );
        check(
            operation(L::BluetoothEncryptionWithAuthentication, None),
            invalid(InvalidReason::BluetoothOnTcp),
        );
        check(
            operation(L::Ssl3AllowWeakEncryption, None),
            unsupported(UnsupportedReason::Ssl3Prohibited),
        );
        check(
            operation(L::Tls10, None),
            unsupported(UnsupportedReason::LegacyTlsDeprecated),
        );
        check(
            operation(L::Tls11, None),
            unsupported(UnsupportedReason::LegacyTlsDeprecated),
        );
        check(operation(L::Tls12, None), tls(VersionSet::TLS12_ONLY));
        check(operation(L::Unspecified, None), tls(VersionSet::BOTH));
        check(operation(L::Tls13, None), tls(VersionSet::TLS13_ONLY));
    }
    check(connect(L::PlainSocket, None), Ok(Permit::Plaintext));
    check(
        upgrade(L::PlainSocket, None),
        invalid(InvalidReason::PlainSocketUpgrade),
    );
}

#[test]
fn a_minimum_raises_the_floor() {
    for operation in [connect, upgrade] {
        check(
            operation(L::Ssl, Some(L::Tls13)),
            tls(VersionSet::TLS13_ONLY),
        );
        check(
            operation(L::Unspecified, Some(L::Tls13)),
            tls(VersionSet::TLS13_ONLY),
        );
        check(
            operation(L::Unspecified, Some(L::Tls12)),
            tls(VersionSet::BOTH),
        );
        check(
            operation(L::Tls13, Some(L::Tls12)),
            tls(VersionSet::TLS13_ONLY),
        );
        check(operation(L::Ssl, Some(L::Tls10)), tls(VersionSet::BOTH));
        check(
            operation(L::Ssl, Some(L::PlainSocket)),
            tls(VersionSet::BOTH),
        );
        check(
            operation(L::Ssl, Some(L::Unspecified)),
            tls(VersionSet::BOTH),
        );
    }
}

#[test]
fn a_minimum_above_the_request_is_invalid() {
    for operation in [connect, upgrade] {
        check(
            operation(L::Tls12, Some(L::Tls13)),
            invalid(InvalidReason::MinimumAboveRequested),
        );
        check(
            operation(L::Ssl, Some(L::BluetoothEncryptionWithAuthentication)),
            invalid(InvalidReason::BadMinimum),
        );
    }
}

#[test]
fn the_minimum_governs_the_upgrade_not_the_plaintext_connect() {
    for minimum in minimums() {
        check(connect(L::PlainSocket, minimum), Ok(Permit::Plaintext));
        check(
            upgrade(L::PlainSocket, minimum),
            invalid(InvalidReason::PlainSocketUpgrade),
        );
    }
    check(upgrade(L::Ssl, Some(L::Tls13)), tls(VersionSet::TLS13_ONLY));
    check(
        upgrade(L::Tls12, Some(L::Tls13)),
        invalid(InvalidReason::MinimumAboveRequested),
    );
}

#[test]
fn unsupported_requests_stay_unsupported_whatever_the_minimum() {
    for operation in [connect, upgrade] {
        for minimum in minimums() {
            check(
                operation(L::Tls10, minimum),
                unsupported(UnsupportedReason::LegacyTlsDeprecated),
            );
        }
    }
}

#[test]
fn setting_a_minimum_refuses_only_the_bluetooth_levels() {
    for minimum in L::ALL {
        let expected = match minimum {
            L::BluetoothEncryptionAllowNullAuthentication
            | L::BluetoothEncryptionWithAuthentication => invalid(InvalidReason::BadMinimum),
            _ => Ok(Permit::SetMinimum),
        };
        check(Operation::SetMinimum { minimum }, expected);
    }
}

#[test]
fn only_a_plain_socket_connect_allows_plaintext() {
    for level in L::ALL {
        assert_eq!(level.demands_tls(), level != L::PlainSocket);
    }
    for operation in every_operation() {
        if decide(operation) == Ok(Permit::Plaintext) {
            assert!(
                matches!(
                    operation,
                    Operation::Connect {
                        level: L::PlainSocket,
                        ..
                    }
                ),
                "{operation:?}"
            );
        }
    }
}

#[test]
fn connects_and_upgrades_get_no_permit_but_their_own() {
    // The socket relies on this: a connect is answered with plaintext or TLS, an upgrade with
    // TLS, and only setting a minimum is answered with `SetMinimum`.
    for operation in every_operation() {
        let Ok(permit) = decide(operation) else {
            continue;
        };
        let tls = matches!(permit, Permit::Tls(_));
        match operation {
            Operation::Connect { level, .. } => {
                assert_eq!(tls, level.demands_tls(), "{operation:?}");
                assert_ne!(permit, Permit::SetMinimum, "{operation:?}");
            }
            Operation::Upgrade { .. } => assert!(tls, "{operation:?}"),
            Operation::SetMinimum { .. } => assert_eq!(permit, Permit::SetMinimum),
        }
    }
}

#[test]
fn version_sets_list_newest_first() {
    assert_eq!(
        VersionSet::BOTH.versions(),
        vec![TlsVersion::Tls13, TlsVersion::Tls12]
    );
    assert_eq!(VersionSet::TLS12_ONLY.to_rustls().len(), 1);
    assert!(VersionSet::TLS13_ONLY.contains(TlsVersion::Tls13));
    assert!(!VersionSet::TLS13_ONLY.contains(TlsVersion::Tls12));
}

#[test]
fn version_sets_parse_and_print_as_version_lists() {
    for set in [
        VersionSet::BOTH,
        VersionSet::TLS12_ONLY,
        VersionSet::TLS13_ONLY,
    ] {
        assert_eq!(set.to_string().parse::<VersionSet>(), Ok(set));
    }
    assert_eq!("1.3, 1.2".parse(), Ok(VersionSet::BOTH));
    assert_eq!("1.2".parse(), Ok(VersionSet::TLS12_ONLY));
    assert_eq!(VersionSet::TLS13_ONLY.to_string(), "1.3");
    for bad in ["", "1.1", "1.2,", "tls1.3", "1.2;1.3"] {
        assert!(bad.parse::<VersionSet>().is_err(), "{bad:?}");
    }
}
