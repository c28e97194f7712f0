//! Formats users define: an NGINX `log_format` or an Apache `LogFormat`
//! string, compiled once into a [`CompiledFormat`] that reads lines
//! without a regex (a list of literal texts and fields, found with
//! `memchr`) and writes records back as lines.
//!
//! ```text
//! $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent
//! log_format main '$remote_addr - $remote_user [$time_local] "$request" '
//!                 '$status $body_bytes_sent "$http_referer" "$http_user_agent"';
//! %h %l %u %t \"%r\" %>s %b
//! LogFormat "%v:%p %h %l %u %t \"%r\" %>s %O" vhost_combined
//! ```
//!
//! Which variable fills which field is in [`variables`]. How a line is cut
//! into fields is in [`scanner`].

mod apache;
mod nginx;
mod scanner;
pub mod variables;
mod writer;

use std::sync::Arc;

use thiserror::Error;

use crate::record::AccessLog;

use super::ParseError;
use scanner::{Field, Literal, Scanner, Step, Target};
use variables::{DOCUMENT_FIELDS, Standard, Variable};

/// The two syntaxes a format string can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// NGINX `log_format`: `$variable`, `${variable}`.
    Nginx,
    /// Apache `LogFormat`: `%h`, `%>s`, `%{Header}i`.
    Apache,
}

/// A format string, compiled once; reads and writes lines of that format.
#[derive(Debug, Clone)]
pub struct CompiledFormat {
    syntax: Syntax,
    scanner: Scanner,
}

/// A format string that cannot be compiled: what is wrong, and at which
/// byte of the string given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{problem} at byte {at}")]
pub struct FormatError {
    pub at: usize,
    pub problem: FormatProblem,
}

/// What is wrong with a format string.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum FormatProblem {
    #[error("the format is empty")]
    Empty,
    #[error("the format has neither NGINX $variables nor Apache %directives")]
    NoVariables,
    #[error("the format mixes NGINX $variables and Apache %directives ({0})")]
    MixedSyntax(String),
    #[error("unknown Apache directive {0}")]
    UnknownDirective(String),
    #[error("{what} is not supported: {why}")]
    Unsupported { what: String, why: &'static str },
    #[error("{0} is never closed")]
    Unclosed(&'static str),
    #[error("`$` without a variable name")]
    NoVariableName,
    #[error("this `\"` is never closed")]
    UnbalancedQuote,
    #[error("{first} and {second} have nothing between them to tell where one ends")]
    AdjacentFields { first: String, second: String },
    #[error("no {0} in the format")]
    Missing(&'static str),
    #[error("{variable} would be the field `{name}`, which {why}")]
    Duplicate {
        variable: String,
        name: String,
        why: &'static str,
    },
    #[error("not a {directive} directive: {why}")]
    BadDirective {
        directive: &'static str,
        why: &'static str,
    },
}

/// Appends what the backslash at byte `at` stands for, `unescaped` (its
/// two bytes read) or, for an escape the syntax does not know, the
/// backslash itself (one byte read); answers the position after it.
fn push_escape(
    text: &mut String,
    origin: &mut Vec<usize>,
    at: usize,
    unescaped: Option<char>,
) -> usize {
    origin.push(at);
    match unescaped {
        Some(c) => {
            text.push(c);
            at + 2
        }
        None => {
            text.push('\\');
            at + 1
        }
    }
}

impl FormatError {
    fn new(at: usize, problem: FormatProblem) -> Self {
        FormatError { at, problem }
    }
}

/// A part of a format string, with where it is in the string given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Piece {
    /// Literal text; `origin[i]` is the position of its byte `i` in the
    /// string given (escapes and quoting make the two differ).
    Text {
        text: String,
        origin: Vec<usize>,
    },
    Variable {
        variable: Variable,
        at: usize,
    },
}

impl CompiledFormat {
    /// Compiles a format string in NGINX or Apache syntax, or a whole
    /// `log_format ...;` / `LogFormat "..." nickname` line from a server's
    /// configuration.
    pub fn compile(spec: &str) -> Result<CompiledFormat, FormatError> {
        if spec.trim().is_empty() {
            return Err(FormatError::new(0, FormatProblem::Empty));
        }
        let syntax = detect(spec)?;
        let pieces = match syntax {
            Syntax::Nginx => nginx::pieces(spec)?,
            Syntax::Apache => apache::pieces(spec)?,
        };
        let scanner = build(pieces)?;
        Ok(CompiledFormat { syntax, scanner })
    }

    /// Reads one line (without its line terminator).
    pub fn parse<'a>(&self, line: &'a str) -> Result<AccessLog<'a>, ParseError> {
        self.scanner.parse(line)
    }

    /// Appends `record` as a line of this format (without a terminator);
    /// fields the record lacks are written `-`, as servers do.
    pub fn write(&self, record: &AccessLog<'_>, out: &mut Vec<u8>) {
        writer::write(&self.scanner, record, out)
    }

    /// Whether the request, referrer and user agent are each inside `"..."`
    /// (or absent): then they are written escaped and read unescaped.
    pub fn quotes_its_strings(&self) -> bool {
        self.scanner.steps.iter().all(|step| {
            let string = matches!(
                step.field.target,
                Target::Standard(Standard::Request | Standard::Referrer | Standard::UserAgent)
            );
            !string || step.field.quoted
        })
    }

    pub fn syntax(&self) -> Syntax {
        self.syntax
    }
}

/// NGINX or Apache: said by a pasted directive, else by the variables the
/// string holds.
fn detect(spec: &str) -> Result<Syntax, FormatError> {
    let trimmed = spec.trim_start();
    let starts_with_word = |word: &str| {
        trimmed
            .strip_prefix(word)
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_whitespace()) || rest.is_empty())
    };
    if starts_with_word("log_format") {
        return Ok(Syntax::Nginx);
    }
    if starts_with_word("LogFormat") {
        return Ok(Syntax::Apache);
    }
    let b = spec.as_bytes();
    let nginx = (0..b.len()).find(|&i| {
        b[i] == b'$'
            && b.get(i + 1)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || c == b'_' || c == b'{')
    });
    let apache = (0..b.len()).find(|&i| {
        b[i] == b'%'
            && b.get(i + 1).is_some_and(|&c| {
                c.is_ascii_alphanumeric() || matches!(c, b'{' | b'<' | b'>' | b'!' | b'%' | b'^')
            })
    });
    match (nginx, apache) {
        (Some(_), None) => Ok(Syntax::Nginx),
        (None, Some(_)) => Ok(Syntax::Apache),
        (Some(n), Some(a)) => {
            let (first, second) = (n.min(a), n.max(a));
            let what = format!(
                "{} at byte {first}, {} at byte {second}",
                if first == n { "$" } else { "%" },
                if first == n { "%" } else { "$" }
            );
            Err(FormatError::new(second, FormatProblem::MixedSyntax(what)))
        }
        (None, None) => Err(FormatError::new(0, FormatProblem::NoVariables)),
    }
}

/// Gives each variable its field, and lays the pieces out as the scanner's
/// literals and fields.
fn build(pieces: Vec<Piece>) -> Result<Scanner, FormatError> {
    let pieces = join_texts(pieces);
    check_quotes(&pieces)?;
    let targets = assign(&pieces)?;
    let mut targets = targets.into_iter();
    let mut head = String::new();
    let mut steps: Vec<Step> = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        match piece {
            Piece::Text { text, .. } => match steps.last_mut() {
                Some(step) => step.then = Literal::new(text),
                None => head = text.clone(),
            },
            Piece::Variable { variable, at } => {
                let before = i.checked_sub(1).map(|j| &pieces[j]);
                if let Some(Piece::Variable {
                    variable: first, ..
                }) = before
                {
                    return Err(FormatError::new(
                        *at,
                        FormatProblem::AdjacentFields {
                            first: first.display.clone(),
                            second: variable.display.clone(),
                        },
                    ));
                }
                let before = match before {
                    Some(Piece::Text { text, .. }) => text.as_str(),
                    _ => "",
                };
                let after = match pieces.get(i + 1) {
                    Some(Piece::Text { text, .. }) => text.as_str(),
                    _ => "",
                };
                let target = targets.next().ok_or_else(|| {
                    FormatError::new(*at, FormatProblem::Missing("field for a variable"))
                })?;
                steps.push(Step {
                    field: Field::new(
                        &variable.display,
                        target,
                        before.ends_with('"') && after.starts_with('"'),
                    ),
                    then: Literal::new(""),
                });
            }
        }
    }
    Ok(Scanner {
        head: Literal::new(&head),
        steps,
    })
}

/// Neighbouring texts as one (the tokenizers emit them in parts).
fn join_texts(pieces: Vec<Piece>) -> Vec<Piece> {
    let mut out: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match (out.last_mut(), piece) {
            (
                Some(Piece::Text { text, origin }),
                Piece::Text {
                    text: more,
                    origin: more_origin,
                },
            ) => {
                text.push_str(&more);
                origin.extend(more_origin);
            }
            (_, Piece::Text { text, .. }) if text.is_empty() => {}
            (_, piece) => out.push(piece),
        }
    }
    out
}

/// Every `"` of the literal text must pair with another: an odd one out
/// would make the scanner look for a field's end in the wrong place.
fn check_quotes(pieces: &[Piece]) -> Result<(), FormatError> {
    let mut open: Option<usize> = None;
    for piece in pieces {
        if let Piece::Text { text, origin } = piece {
            for (i, _) in text.match_indices('"') {
                open = match open {
                    Some(_) => None,
                    None => Some(origin.get(i).copied().unwrap_or_default()),
                };
            }
        }
    }
    match open {
        Some(at) => Err(FormatError::new(at, FormatProblem::UnbalancedQuote)),
        None => Ok(()),
    }
}

/// Each variable's field, in the order of the variables: its standard
/// field when free (the higher priority first, then the earlier), else an
/// extra under its own name.
fn assign(pieces: &[Piece]) -> Result<Vec<Target>, FormatError> {
    let variables: Vec<(&Variable, usize)> = pieces
        .iter()
        .filter_map(|p| match p {
            Piece::Variable { variable, at } => Some((variable, *at)),
            Piece::Text { .. } => None,
        })
        .collect();
    // The request line fills method, endpoint and protocol at once: it
    // goes before the variables that fill one of them.
    let rank = |v: &Variable| {
        let whole_request = v.standard == Some(Standard::Request);
        std::cmp::Reverse(v.priority + u8::from(whole_request))
    };
    let mut order: Vec<usize> = (0..variables.len()).collect();
    order.sort_by_key(|&i| (rank(variables[i].0), i));
    let mut taken: Vec<&str> = Vec::new();
    let mut targets: Vec<Option<Target>> = vec![None; variables.len()];
    for &i in &order {
        let (variable, _) = variables[i];
        if let Some(standard) = variable.standard {
            let slots = standard.slots();
            if slots.iter().all(|s| !taken.contains(s)) {
                taken.extend_from_slice(slots);
                targets[i] = Some(Target::Standard(standard));
            }
        }
    }
    let mut names: Vec<&str> = Vec::new();
    for (i, (variable, at)) in variables.iter().enumerate() {
        if targets[i].is_some() {
            continue;
        }
        let name = variable.name.as_str();
        let duplicate = |why| {
            FormatError::new(
                *at,
                FormatProblem::Duplicate {
                    variable: variable.display.clone(),
                    name: name.to_owned(),
                    why,
                },
            )
        };
        if name.is_empty() {
            return Err(duplicate("is empty"));
        }
        if DOCUMENT_FIELDS.contains(&name) {
            return Err(duplicate("is a standard field another variable fills"));
        }
        if names.contains(&name) {
            return Err(duplicate("an earlier variable fills"));
        }
        names.push(name);
        targets[i] = Some(Target::Extra {
            name: Arc::from(name),
            kind: variable.kind,
        });
    }
    let end = pieces.iter().map(piece_end).max().unwrap_or_default();
    if !taken.contains(&"timestamp") {
        return Err(FormatError::new(
            end,
            FormatProblem::Missing(
                "time ($time_local, $time_iso8601, $msec; %t, %{sec|msec|usec}t)",
            ),
        ));
    }
    if !taken.contains(&"status") {
        return Err(FormatError::new(
            end,
            FormatProblem::Missing("status ($status; %>s, %s)"),
        ));
    }
    Ok(targets.into_iter().flatten().collect())
}

fn piece_end(piece: &Piece) -> usize {
    match piece {
        Piece::Text { origin, .. } => origin.last().map_or(0, |at| at + 1),
        Piece::Variable { variable, at } => at + variable.display.len(),
    }
}

#[cfg(test)]
mod tests;
