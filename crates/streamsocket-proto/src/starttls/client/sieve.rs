//! ManageSieve (RFC 5804): the greeting is the capability list ending in `OK`, which must name
//! `"STARTTLS"`; `STARTTLS` and its `OK`; inside TLS the server sends the capabilities again
//! unsolicited (section 2.2), so the client sends nothing and waits for them.

use super::{ClientFailure, ClientMachine, MAX_REPLY_LINES, Phase};

impl ClientMachine {
    pub(super) fn sieve_line(&mut self, text: String, rest: usize) {
        match parse_sieve_line(&text) {
            Err(reason) => self.protocol(reason),
            Ok(SieveLine::Capability(capability)) => {
                if !matches!(self.phase, Phase::Greeting | Phase::PostTls) {
                    self.protocol(format!("capability line in answer to STARTTLS: {text:?}"));
                } else if self.pending.len() >= MAX_REPLY_LINES {
                    self.protocol("capability list has too many lines");
                } else {
                    self.pending.push(capability);
                }
            }
            Ok(SieveLine::Ok) => match self.phase {
                Phase::Greeting | Phase::PostTls => {
                    let capabilities = std::mem::take(&mut self.pending);
                    self.capabilities = capabilities.clone();
                    if self.phase == Phase::PostTls {
                        self.phase = Phase::Ready;
                        self.events
                            .push_back(super::ClientEvent::Ready { capabilities });
                    } else if super::has_capability(&capabilities, "STARTTLS") {
                        self.phase = Phase::StartTlsSent;
                        self.send("STARTTLS");
                    } else {
                        self.fail(ClientFailure::NotOffered { capabilities }, true);
                    }
                }
                Phase::StartTlsSent => self.go_ahead(rest),
                _ => self.protocol(format!("unexpected sieve response {text:?}")),
            },
            // RFC 5804 section 1.3: BYE says the server is closing; a LOGOUT after it is
            // harmless and keeps one rule for every refusal.
            Ok(SieveLine::No | SieveLine::Bye) => {
                self.fail(ClientFailure::Refused { reply: text }, true);
            }
        }
    }
}

/// One line of a ManageSieve server's answer.
#[derive(Debug, Eq, PartialEq)]
enum SieveLine {
    /// A capability line (`"NAME"` or `"NAME" "value"`), unquoted and joined by a space.
    Capability(String),
    Ok,
    No,
    Bye,
}

/// Reads a line as a capability (RFC 5804 section 1.7: one or two quoted strings) or a
/// response (`OK`, `NO`, `BYE`, as a whole word, any case, section 4). Literals (`{n}`) are
/// refused rather than read: a capability list has no need of them, and their declared length
/// is never used to allocate.
fn parse_sieve_line(line: &str) -> Result<SieveLine, String> {
    if line.starts_with('"') {
        let mut words = Vec::new();
        let mut rest = line;
        while !rest.is_empty() {
            if words.len() == 2 {
                return Err(format!(
                    "capability line with more than two strings: {line:?}"
                ));
            }
            let (word, after) =
                quoted(rest).ok_or_else(|| format!("malformed quoted string in {line:?}"))?;
            words.push(word);
            rest = match after.strip_prefix(' ') {
                Some(next) if !next.is_empty() => next,
                Some(_) => return Err(format!("trailing space in {line:?}")),
                None if after.is_empty() => after,
                None => return Err(format!("malformed capability line {line:?}")),
            };
        }
        return Ok(SieveLine::Capability(words.join(" ")));
    }
    if line.starts_with('{') {
        return Err(format!("literal in a capability list: {line:?}"));
    }
    let word = line.split(' ').next().unwrap_or_default();
    match word.to_ascii_uppercase().as_str() {
        "OK" => Ok(SieveLine::Ok),
        "NO" => Ok(SieveLine::No),
        "BYE" => Ok(SieveLine::Bye),
        _ => Err(format!("unparsable sieve response {line:?}")),
    }
}

/// A quoted string at the start of `text` (RFC 5804 section 4: `\` escapes `"` and `\`, no CR
/// or LF inside); its unescaped content and the text after the closing quote.
fn quoted(text: &str) -> Option<(String, &str)> {
    let body = text.strip_prefix('"')?;
    let mut word = String::new();
    let mut chars = body.char_indices();
    while let Some((index, c)) = chars.next() {
        match c {
            '"' => return Some((word, body.get(index + 1..)?)),
            '\\' => match chars.next()? {
                (_, escaped @ ('"' | '\\')) => word.push(escaped),
                _ => return None,
            },
            '\r' | '\n' | '\0' => return None,
            c => word.push(c),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{SieveLine, parse_sieve_line};

    #[test]
    fn sieve_lines_read_as_rfc_5804_says() {
        let cases: [(&str, Result<SieveLine, ()>); 12] = [
            (
                r#""IMPLEMENTATION" "Example1 ManageSieved v001""#,
                Ok(SieveLine::Capability(
                    "IMPLEMENTATION Example1 ManageSieved v001".into(),
                )),
            ),
            (
                r#""STARTTLS""#,
                Ok(SieveLine::Capability("STARTTLS".into())),
            ),
            (
                r#""SIEVE" "a\"b\\c""#,
                Ok(SieveLine::Capability(r#"SIEVE a"b\c"#.into())),
            ),
            (r#"OK "Begin TLS negotiation now""#, Ok(SieveLine::Ok)),
            ("ok", Ok(SieveLine::Ok)),
            (r#"NO (TRYLATER) "later""#, Ok(SieveLine::No)),
            (r#"BYE "closing""#, Ok(SieveLine::Bye)),
            ("OKAY", Err(())),
            (r#""SASL" {5}"#, Err(())),
            (r#""a" "b" "c""#, Err(())),
            (r#""unterminated"#, Err(())),
            ("{12}", Err(())),
        ];
        for (line, expected) in cases {
            assert_eq!(parse_sieve_line(line).map_err(|_| ()), expected, "{line:?}");
        }
    }
}
