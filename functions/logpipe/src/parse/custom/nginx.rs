//! NGINX `log_format` syntax: literal text with `$name` and `${name}`
//! variables, given bare or as the whole directive from `nginx.conf`:
//!
//! ```text
//! log_format main escape=json '$remote_addr - $remote_user [$time_local] '
//!                             '"$request" $status $body_bytes_sent';
//! ```
//!
//! The directive's parts (single- or double-quoted, or bare words) are
//! concatenated as NGINX does; `escape=` is accepted and changes nothing
//! here: whatever NGINX escaped is kept as written (`\xHH`), except `\"`
//! and `\\` inside a quoted field.

use super::{FormatError, FormatProblem, Piece, push_escape, variables};

/// The format's pieces: its literal texts and variables.
pub(crate) fn pieces(spec: &str) -> Result<Vec<Piece>, FormatError> {
    let (body, origin) = match spec.trim_start().starts_with("log_format") {
        true => unwrap_directive(spec)?,
        false => (spec.to_owned(), (0..spec.len()).collect()),
    };
    tokenize(&body, &origin)
}

const DIRECTIVE: &str = "log_format";

fn bad(at: usize, why: &'static str) -> FormatError {
    FormatError::new(
        at,
        FormatProblem::BadDirective {
            directive: DIRECTIVE,
            why,
        },
    )
}

/// `log_format NAME [escape=...] PART...;` to the concatenated parts, with
/// the position in `spec` of each of their bytes.
fn unwrap_directive(spec: &str) -> Result<(String, Vec<usize>), FormatError> {
    let b = spec.as_bytes();
    let mut at = spec.len() - spec.trim_start().len() + DIRECTIVE.len();
    let skip_space = |at: &mut usize| {
        while b.get(*at).is_some_and(u8::is_ascii_whitespace) {
            *at += 1;
        }
    };
    let word = |at: &mut usize| {
        let start = *at;
        while b
            .get(*at)
            .is_some_and(|c| !c.is_ascii_whitespace() && *c != b';')
        {
            *at += 1;
        }
        &spec[start..*at]
    };
    skip_space(&mut at);
    let name_at = at;
    let name = word(&mut at);
    if name.is_empty() || name.starts_with(['\'', '"']) {
        return Err(bad(name_at, "`log_format` needs a name before its format"));
    }
    let mut body = String::new();
    let mut origin = Vec::new();
    let mut parts = 0;
    loop {
        skip_space(&mut at);
        match b.get(at) {
            None => break,
            Some(b';') => {
                at += 1;
                skip_space(&mut at);
                if at < b.len() {
                    return Err(bad(at, "text after the closing `;`"));
                }
                break;
            }
            Some(&quote @ (b'\'' | b'"')) => {
                let open = at;
                at += 1;
                loop {
                    match b.get(at) {
                        None => {
                            let what = if quote == b'\'' {
                                "this `'`"
                            } else {
                                "this `\"` of the directive"
                            };
                            return Err(FormatError::new(open, FormatProblem::Unclosed(what)));
                        }
                        Some(&c) if c == quote => {
                            at += 1;
                            break;
                        }
                        Some(b'\\') if at + 1 < b.len() => {
                            // The configuration's escapes, as NGINX reads them.
                            let unescaped = match b[at + 1] {
                                b'"' => Some('"'),
                                b'\'' => Some('\''),
                                b'\\' => Some('\\'),
                                b't' => Some('\t'),
                                b'r' => Some('\r'),
                                b'n' => Some('\n'),
                                _ => None,
                            };
                            at = push_escape(&mut body, &mut origin, at, unescaped);
                        }
                        Some(_) => {
                            let c = spec[at..].chars().next().unwrap_or_default();
                            body.push(c);
                            origin.extend((0..c.len_utf8()).map(|i| at + i));
                            at += c.len_utf8();
                        }
                    }
                }
                parts += 1;
            }
            Some(_) => {
                let start = at;
                let part = word(&mut at);
                if parts == 0 && part.starts_with("escape=") {
                    if !matches!(part, "escape=default" | "escape=json" | "escape=none") {
                        return Err(bad(start, "escape= takes default, json or none"));
                    }
                    continue;
                }
                body.push_str(part);
                origin.extend(start..at);
                parts += 1;
            }
        }
    }
    if parts == 0 {
        return Err(bad(at, "`log_format` has no format string"));
    }
    Ok((body, origin))
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// Literal text and `$variables`; `$uri$is_args$args` written together is
/// one variable, the target with its query.
fn tokenize(body: &str, origin: &[usize]) -> Result<Vec<Piece>, FormatError> {
    let b = body.as_bytes();
    let position = |i: usize| origin.get(i).copied().unwrap_or(i);
    let mut pieces = Vec::new();
    let mut names: Vec<Option<String>> = Vec::new();
    let mut text_start = 0;
    let mut i = 0;
    while let Some(dollar) = memchr::memchr(b'$', &b[i..]).map(|d| d + i) {
        let (name, end) = if b.get(dollar + 1) == Some(&b'{') {
            let close = memchr::memchr(b'}', &b[dollar..])
                .map(|c| c + dollar)
                .ok_or_else(|| {
                    FormatError::new(position(dollar), FormatProblem::Unclosed("`${`"))
                })?;
            (&body[dollar + 2..close], close + 1)
        } else {
            let len = b[dollar + 1..]
                .iter()
                .take_while(|&&c| is_name_byte(c))
                .count();
            (&body[dollar + 1..dollar + 1 + len], dollar + 1 + len)
        };
        if name.is_empty() || !name.bytes().all(is_name_byte) {
            return Err(FormatError::new(
                position(dollar),
                FormatProblem::NoVariableName,
            ));
        }
        push_text(&mut pieces, &mut names, body, origin, text_start, dollar);
        pieces.push(Piece::Variable {
            variable: variables::nginx(name),
            at: position(dollar),
        });
        names.push(Some(name.to_owned()));
        text_start = end;
        i = end;
    }
    push_text(&mut pieces, &mut names, body, origin, text_start, b.len());
    Ok(join_uri_and_args(pieces, &names))
}

fn push_text(
    pieces: &mut Vec<Piece>,
    names: &mut Vec<Option<String>>,
    body: &str,
    origin: &[usize],
    start: usize,
    end: usize,
) {
    if start < end {
        pieces.push(Piece::Text {
            text: body[start..end].to_owned(),
            origin: origin[start..end].to_vec(),
        });
        names.push(None);
    }
}

/// `$uri$is_args$args`, NGINX's way of writing the target with its query
/// (the three cannot be told apart in a line anyway), as one variable.
fn join_uri_and_args(pieces: Vec<Piece>, names: &[Option<String>]) -> Vec<Piece> {
    let mut out = Vec::with_capacity(pieces.len());
    let mut i = 0;
    while i < pieces.len() {
        let three = names.get(i..i + 3).is_some_and(|n| {
            n[0].as_deref() == Some("uri")
                && n[1].as_deref() == Some("is_args")
                && n[2].as_deref() == Some("args")
        });
        if three && let Piece::Variable { at, .. } = &pieces[i] {
            let mut variable = variables::nginx("uri$is_args$args");
            variable.display = "$uri$is_args$args".to_owned();
            out.push(Piece::Variable { variable, at: *at });
            i += 3;
        } else {
            out.push(pieces[i].clone());
            i += 1;
        }
    }
    out
}
