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

/// One row of the policy table: requested level, minimum, expected decision.
fn check(requested: L, minimum: Option<L>, expected: Decision) {
    assert_eq!(
        decide(requested, minimum),
        expected,
        "{requested} with minimum {minimum:?}"
    );
}

#[test]
fn every_level_without_a_minimum_follows_the_table() {
    use Decision::*;
    check(L::PlainSocket, None, Plaintext);
    check(L::Ssl, None, Tls(VersionSet::BOTH));
    check(L::SslAllowNullEncryption, None, Tls(VersionSet::BOTH));
    check(
        L::BluetoothEncryptionAllowNullAuthentication,
        None,
        Invalid(InvalidReason::BluetoothOnTcp),
    );
    check(
        L::BluetoothEncryptionWithAuthentication,
        None,
        Invalid(InvalidReason::BluetoothOnTcp),
    );
    check(
        L::Ssl3AllowWeakEncryption,
        None,
        Unsupported(UnsupportedReason::Ssl3Prohibited),
    );
    check(
        L::Tls10,
        None,
        Unsupported(UnsupportedReason::LegacyTlsDeprecated),
    );
    check(
        L::Tls11,
        None,
        Unsupported(UnsupportedReason::LegacyTlsDeprecated),
    );
    check(L::Tls12, None, Tls(VersionSet::TLS12_ONLY));
    check(L::Unspecified, None, Tls(VersionSet::BOTH));
    check(L::Tls13, None, Tls(VersionSet::TLS13_ONLY));
}

#[test]
fn a_minimum_raises_the_floor() {
    use Decision::*;
    check(L::Ssl, Some(L::Tls13), Tls(VersionSet::TLS13_ONLY));
    check(L::Unspecified, Some(L::Tls13), Tls(VersionSet::TLS13_ONLY));
    check(L::Unspecified, Some(L::Tls12), Tls(VersionSet::BOTH));
    check(L::Tls13, Some(L::Tls12), Tls(VersionSet::TLS13_ONLY));
    check(L::Ssl, Some(L::Tls10), Tls(VersionSet::BOTH));
    check(L::Ssl, Some(L::PlainSocket), Tls(VersionSet::BOTH));
    check(L::Ssl, Some(L::Unspecified), Tls(VersionSet::BOTH));
}

#[test]
fn a_minimum_above_the_request_is_invalid() {
    use Decision::*;
    check(
        L::Tls12,
        Some(L::Tls13),
        Invalid(InvalidReason::MinimumAboveRequested),
    );
    check(
        L::PlainSocket,
        Some(L::Ssl),
        Invalid(InvalidReason::MinimumAboveRequested),
    );
    check(
        L::PlainSocket,
        Some(L::Tls12),
        Invalid(InvalidReason::MinimumAboveRequested),
    );
    check(L::PlainSocket, Some(L::PlainSocket), Plaintext);
    check(
        L::Ssl,
        Some(L::BluetoothEncryptionWithAuthentication),
        Invalid(InvalidReason::BadMinimum),
    );
}

#[test]
fn unsupported_requests_stay_unsupported_whatever_the_minimum() {
    for minimum in [
        None,
        Some(L::Tls13),
        Some(L::PlainSocket),
        Some(L::BluetoothEncryptionWithAuthentication),
    ] {
        check(
            L::Tls10,
            minimum,
            Decision::Unsupported(UnsupportedReason::LegacyTlsDeprecated),
        );
    }
}

#[test]
fn only_plain_socket_allows_plaintext() {
    for level in L::ALL {
        assert_eq!(level.demands_tls(), level != L::PlainSocket);
        for minimum in L::ALL.map(Some).into_iter().chain([None]) {
            if decide(level, minimum) == Decision::Plaintext {
                assert_eq!(level, L::PlainSocket);
            }
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
