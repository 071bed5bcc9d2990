//! Unit tests of host and service parsing.

use super::*;

#[test]
fn validation_names_are_ip_literals_or_dns_names() {
    for ip in ["127.0.0.1", "[::1]", "::1"] {
        assert!(
            matches!(validation_name(ip), Ok(ServerName::IpAddress(_))),
            "{ip:?}"
        );
    }
    assert!(matches!(
        validation_name("mail.example.com"),
        Ok(ServerName::DnsName(_))
    ));
    for bad in ["", "not a name", "exa mple.com", "[::1"] {
        let err = validation_name(bad).unwrap_err();
        assert_eq!(err.host(), bad);
        assert_eq!(
            err.to_string(),
            format!("{bad:?} is neither an IP address nor a valid DNS name")
        );
    }
}

#[test]
fn ip_literals_may_be_bracketed() {
    assert_eq!(parse_ip("127.0.0.1"), Some(IpAddr::from([127, 0, 0, 1])));
    assert_eq!(parse_ip("[::1]"), parse_ip("::1"));
    assert!(parse_ip("::1").is_some_and(|ip| ip.is_loopback()));
    for not_ip in ["", "[]", "[::1", "::1]", "localhost", "[127.0.0.1]x"] {
        assert_eq!(parse_ip(not_ip), None, "{not_ip:?}");
    }
}

#[test]
fn every_required_service_name_has_its_iana_port() {
    let expected = [
        ("http", 80),
        ("https", 443),
        ("smtp", 25),
        ("submission", 587),
        ("submissions", 465),
        ("smtps", 465),
        ("imap", 143),
        ("imaps", 993),
        ("pop3", 110),
        ("pop3s", 995),
        ("ldap", 389),
        ("ldaps", 636),
        ("postgresql", 5432),
        ("xmpp-client", 5222),
    ];
    for (name, port) in expected {
        assert_eq!(port_for(name), Some(port), "{name}");
        assert_eq!(
            port_for(&name.to_uppercase()),
            Some(port),
            "{name} in capitals"
        );
    }
}

#[test]
fn numeric_ports_are_accepted_and_zero_or_overflow_is_not() {
    assert_eq!(port_for("8443"), Some(8443));
    assert_eq!(port_for("65535"), Some(65535));
    assert_eq!(port_for("0"), None);
    assert_eq!(port_for("65536"), None);
    assert_eq!(port_for(""), None);
    assert_eq!(port_for("gopher"), None);
    assert_eq!(port_for("-1"), None);
}

#[test]
fn a_service_is_a_port_number_or_a_name_port_for_reads() {
    assert_eq!(Service::from(587).port(), Ok(587));
    assert_eq!(Service::from("submission").port(), Ok(587));
    assert_eq!(Service::from(&"993".to_owned()).port(), Ok(993));
    let zero = Service::from(0).port().unwrap_err();
    assert_eq!(zero.service(), "0");
    assert_eq!(
        Service::from("gopher").port().unwrap_err().to_string(),
        "service \"gopher\" is neither a port number (1-65535) nor a known service name"
    );
    assert_eq!(Service::from("imaps").to_string(), "\"imaps\"");
    assert_eq!(Service::from(25).to_string(), "25");
}
