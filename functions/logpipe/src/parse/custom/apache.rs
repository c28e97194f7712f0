//! Apache `LogFormat` syntax: `%` directives with their `<`/`>` modifiers,
//! status conditions (`%400,501{User-agent}i`, `%!200{Referer}i`: the
//! server then logs `-`, read as absent), `{arguments}` and `%%`, given
//! bare (`%h %l %u %t \"%r\" %>s %b`, where `\"` is `"` as in httpd.conf)
//! or as the whole directive (`LogFormat "..." nickname`).

use super::{FormatError, FormatProblem, Piece, push_escape, variables};

const DIRECTIVE: &str = "LogFormat";

/// The format's pieces: its literal texts and directives.
pub(crate) fn pieces(spec: &str) -> Result<Vec<Piece>, FormatError> {
    let (start, end) = match spec.trim_start().starts_with(DIRECTIVE) {
        true => unwrap_directive(spec)?,
        false => (0, spec.len()),
    };
    tokenize(spec, start, end)
}

fn bad(at: usize, why: &'static str) -> FormatError {
    FormatError::new(
        at,
        FormatProblem::BadDirective {
            directive: DIRECTIVE,
            why,
        },
    )
}

/// `LogFormat "FORMAT" [nickname]` to where FORMAT is in `spec`. Its
/// escapes are left to [`tokenize`], which reads `\"` as `"` either way.
fn unwrap_directive(spec: &str) -> Result<(usize, usize), FormatError> {
    let b = spec.as_bytes();
    let mut at = spec.len() - spec.trim_start().len() + DIRECTIVE.len();
    let skip_space = |at: &mut usize| {
        while b.get(*at).is_some_and(u8::is_ascii_whitespace) {
            *at += 1;
        }
    };
    skip_space(&mut at);
    let (start, end) = match b.get(at) {
        None => return Err(bad(at, "`LogFormat` has no format string")),
        Some(&quote @ (b'"' | b'\'')) => {
            let open = at;
            at += 1;
            loop {
                match b.get(at) {
                    None => {
                        return Err(FormatError::new(
                            open,
                            FormatProblem::Unclosed("the `\"` around the format"),
                        ));
                    }
                    Some(b'\\') => at += 2,
                    Some(&c) if c == quote => break,
                    Some(_) => at += 1,
                }
            }
            at += 1;
            (open + 1, at - 1)
        }
        Some(_) => {
            let start = at;
            while b.get(at).is_some_and(|c| !c.is_ascii_whitespace()) {
                at += 1;
            }
            (start, at)
        }
    };
    skip_space(&mut at);
    // The nickname (`combined`), then nothing.
    while b.get(at).is_some_and(|c| !c.is_ascii_whitespace()) {
        at += 1;
    }
    skip_space(&mut at);
    if at < b.len() {
        return Err(bad(at, "text after the nickname"));
    }
    Ok((start, end.min(b.len())))
}

/// Literal text and directives of `spec[start..end]`.
fn tokenize(spec: &str, start: usize, end: usize) -> Result<Vec<Piece>, FormatError> {
    let b = &spec.as_bytes()[..end];
    let mut pieces = Vec::new();
    let mut text = String::new();
    let mut origin = Vec::new();
    let mut at = start;
    let flush = |pieces: &mut Vec<Piece>, text: &mut String, origin: &mut Vec<usize>| {
        if !text.is_empty() {
            pieces.push(Piece::Text {
                text: std::mem::take(text),
                origin: std::mem::take(origin),
            });
        }
    };
    while at < end {
        match b[at] {
            b'\\' if at + 1 < end => {
                let unescaped = match b[at + 1] {
                    b'"' => Some('"'),
                    b'\\' => Some('\\'),
                    b't' => Some('\t'),
                    b'n' | b'r' => {
                        return Err(FormatError::new(
                            at,
                            FormatProblem::Unsupported {
                                what: spec[at..at + 2].to_owned(),
                                why: "a line break inside a line",
                            },
                        ));
                    }
                    _ => None,
                };
                at = push_escape(&mut text, &mut origin, at, unescaped);
            }
            b'%' if b.get(at + 1) == Some(&b'%') => {
                text.push('%');
                origin.push(at);
                at += 2;
            }
            b'%' => {
                let (variable, next) = directive(spec, at, end)?;
                flush(&mut pieces, &mut text, &mut origin);
                // `%t` is the time in brackets: they are literal text.
                let bracketed = variable.standard
                    == Some(variables::Standard::Time(variables::TimeShape::Common));
                if bracketed {
                    pieces.push(Piece::Text {
                        text: "[".into(),
                        origin: vec![at],
                    });
                }
                pieces.push(Piece::Variable { variable, at });
                if bracketed {
                    pieces.push(Piece::Text {
                        text: "]".into(),
                        origin: vec![at + 1],
                    });
                }
                at = next;
            }
            _ => {
                let c = spec[at..].chars().next().unwrap_or_default();
                text.push(c);
                origin.extend((0..c.len_utf8()).map(|i| at + i));
                at += c.len_utf8();
            }
        }
    }
    flush(&mut pieces, &mut text, &mut origin);
    Ok(pieces)
}

/// The directive starting with the `%` at `at`, and where the text after
/// it starts. `%U%q` (the path and its query) is one directive.
fn directive(
    spec: &str,
    at: usize,
    end: usize,
) -> Result<(variables::Variable, usize), FormatError> {
    let b = &spec.as_bytes()[..end];
    let mut i = at + 1;
    let mut modifier = None;
    let mut arg = None;
    loop {
        match b.get(i) {
            Some(&c @ (b'<' | b'>')) => {
                modifier = Some(char::from(c));
                i += 1;
            }
            // A status condition: the value is logged only for (or, with
            // `!`, except for) these statuses, `-` otherwise.
            Some(b'!' | b',' | b'0'..=b'9') => i += 1,
            Some(b'{') => {
                let close = memchr::memchr(b'}', &b[i..])
                    .map(|c| c + i)
                    .ok_or_else(|| FormatError::new(at, FormatProblem::Unclosed("`%{`")))?;
                arg = Some(&spec[i + 1..close]);
                i = close + 1;
            }
            _ => break,
        }
    }
    let rest = &spec[i..end];
    let letter = if rest.starts_with("^ti") || rest.starts_with("^to") {
        &rest[..3]
    } else {
        match rest.chars().next() {
            Some(c) => &rest[..c.len_utf8()],
            None => {
                return Err(FormatError::new(
                    at,
                    FormatProblem::UnknownDirective(spec[at..end].to_owned()),
                ));
            }
        }
    };
    let mut next = i + letter.len();
    let letter = if letter == "U" && arg.is_none() && spec[next..end].starts_with("%q") {
        next += 2;
        "Uq"
    } else {
        letter
    };
    let mut variable = variables::apache(letter, modifier, arg)
        .map_err(|problem| FormatError::new(at, problem))?;
    if letter == "Uq" {
        variable.display = "%U%q".to_owned();
    }
    Ok((variable, next))
}
