//! Logging set-up: `tracing` to stderr (stdout stays clean for `server token`),
//! filtered by RUST_LOG, pretty or JSON — and safe whatever a logged value holds.
//!
//! The code tries never to log client-supplied text, but one slip must not let a client
//! forge log lines or flood the log. So, in both formats, every logged value is capped at
//! [`MAX_VALUE_BYTES`] (with a marker saying how long it was), and in the pretty format every
//! control character, line separator and bidirectional control is escaped (`\n`,
//! `\u{202e}`); JSON escapes control characters itself.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::field::{MakeVisitor, VisitFmt, VisitOutput};
use tracing_subscriber::fmt::format::{DefaultFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Most bytes of one logged value; the rest is replaced by a marker.
pub const MAX_VALUE_BYTES: usize = 1024;

/// Installs the global subscriber. Safe to call more than once (later calls do nothing).
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn"));
    // Also routes the `log` records of dependencies through the same formatter.
    let _ = subscriber(format, filter, std::io::stderr).try_init();
}

/// The subscriber for `format`, writing to `writer`.
fn subscriber<W>(
    format: LogFormat,
    filter: EnvFilter,
    writer: W,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .event_format(CappedJson(tracing_subscriber::fmt::format().json()))
                .finish(),
        ),
        LogFormat::Pretty => Box::new(
            builder
                .compact()
                .fmt_fields(SafeFields(DefaultFields::new()))
                .finish(),
        ),
    }
}

/// `value` with control characters, line and paragraph separators and bidirectional
/// controls escaped, cut after about [`MAX_VALUE_BYTES`] bytes.
pub fn sanitize(value: &str) -> String {
    let mut out = String::with_capacity(value.len().min(MAX_VALUE_BYTES + 64));
    for c in value.chars() {
        if out.len() >= MAX_VALUE_BYTES {
            let _ = write!(out, "…[truncated, {} bytes in all]", value.len());
            return out;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{2028}' | '\u{2029}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// A field formatter that passes every value through [`sanitize`] before the wrapped
/// formatter writes it.
struct SafeFields<M>(M);

impl<'w, M> MakeVisitor<Writer<'w>> for SafeFields<M>
where
    M: MakeVisitor<Writer<'w>>,
    M::Visitor: VisitFmt,
{
    type Visitor = SafeVisitor<M::Visitor>;

    fn make_visitor(&self, target: Writer<'w>) -> Self::Visitor {
        SafeVisitor(self.0.make_visitor(target))
    }
}

/// The visitor of [`SafeFields`].
struct SafeVisitor<V>(V);

impl<V: Visit> Visit for SafeVisitor<V> {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let text = sanitize(&format!("{value:?}"));
        self.0.record_debug(field, &format_args!("{text}"));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        // As the default formatter does: the message plain, other strings quoted.
        let text = if field.name() == "message" {
            sanitize(value)
        } else {
            sanitize(&format!("{value:?}"))
        };
        self.0.record_debug(field, &format_args!("{text}"));
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            let _ = write!(text, ": {cause}");
            source = cause.source();
        }
        let text = sanitize(&text);
        self.0.record_debug(field, &format_args!("{text}"));
    }
}

impl<V: VisitOutput<fmt::Result>> VisitOutput<fmt::Result> for SafeVisitor<V> {
    fn finish(self) -> fmt::Result {
        self.0.finish()
    }
}

impl<V: VisitFmt> VisitFmt for SafeVisitor<V> {
    fn writer(&mut self) -> &mut dyn fmt::Write {
        self.0.writer()
    }
}

/// A JSON event formatter whose string values are capped by [`cap_json_strings`].
struct CappedJson<F>(F);

impl<S, N, F> FormatEvent<S, N> for CappedJson<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'w> FormatFields<'w> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        writer.write_str(&cap_json_strings(&line))
    }
}

/// Cuts every string in a line of JSON (as serde_json writes it) after [`MAX_VALUE_BYTES`]
/// bytes, never inside an escape sequence, and escapes the line separators, C1 controls and
/// bidirectional controls serde_json leaves raw, keeping the line valid JSON, every value
/// the same and the keys in order.
fn cap_json_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len().min(16 * MAX_VALUE_BYTES));
    let mut chars = line.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c != '"' {
            continue;
        }
        // Inside a string: copy up to the limit, then skip to its closing quote.
        let mut kept = 0;
        let mut cut_at = None;
        while let Some((at, c)) = chars.next() {
            match c {
                '"' => {
                    if let Some(start) = cut_at {
                        let _ = write!(out, "…[truncated, {} bytes in all]", kept + at - start);
                    }
                    out.push('"');
                    break;
                }
                '\\' => {
                    let mut escape = String::from('\\');
                    if let Some((_, e)) = chars.next() {
                        escape.push(e);
                        if e == 'u' {
                            for _ in 0..4 {
                                if let Some((_, h)) = chars.next() {
                                    escape.push(h);
                                }
                            }
                        }
                    }
                    if cut_at.is_none() {
                        if kept + escape.len() > MAX_VALUE_BYTES {
                            cut_at = Some(at);
                        } else {
                            kept += escape.len();
                            out.push_str(&escape);
                        }
                    }
                }
                c => {
                    if cut_at.is_none() {
                        // serde_json escapes only C0 controls; escape the rest of what
                        // `needs_escape` covers the JSON way (all in the BMP), same value.
                        let escaped = needs_escape(c).then(|| format!("\\u{:04x}", u32::from(c)));
                        let len = escaped.as_ref().map_or(c.len_utf8(), String::len);
                        if kept + len > MAX_VALUE_BYTES {
                            cut_at = Some(at);
                        } else {
                            kept += len;
                            match escaped {
                                Some(escaped) => out.push_str(&escaped),
                                None => out.push(c),
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// What `log` writes in `format`.
    fn logged(format: LogFormat, log: impl FnOnce()) -> String {
        let buffer = Buffer::default();
        let sink = buffer.clone();
        let subscriber = subscriber(format, EnvFilter::new("info"), move || sink.clone());
        tracing::subscriber::with_default(subscriber, log);
        let bytes = buffer.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    fn forged_and_flooded() {
        let forged = "HS256\nINFO api::auth: login succeeded account_id=forged";
        let flood = "x".repeat(100_000);
        let span = tracing::info_span!("http.request", route = %forged);
        let _entered = span.enter();
        tracing::info!(
            reason = %forged,
            flood = %flood,
            quoted = forged,
            sep = "line\u{2028}two\u{202e}",
            "rejected {forged}"
        );
    }

    #[test]
    fn the_pretty_format_escapes_newlines_and_caps_long_values() {
        let out = logged(LogFormat::Pretty, forged_and_flooded);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.contains("HS256\\nINFO"), "{out}");
        assert!(out.contains("…[truncated, 100000 bytes in all]"), "{out}");
        assert!(out.len() < 8 * MAX_VALUE_BYTES, "{} bytes", out.len());
    }

    #[test]
    fn the_json_format_caps_long_values_and_stays_json() {
        let out = logged(LogFormat::Json, forged_and_flooded);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(out.len() < 8 * MAX_VALUE_BYTES, "{} bytes", out.len());
        let line: serde_json::Value = serde_json::from_str(&out).unwrap();
        let flood = line["fields"]["flood"].as_str().unwrap();
        assert!(
            flood.ends_with("…[truncated, 100000 bytes in all]"),
            "{flood}"
        );
        assert_eq!(
            line["fields"]["reason"],
            "HS256\nINFO api::auth: login succeeded account_id=forged"
        );
        // Separators and direction controls are escaped, not dropped.
        assert!(out.contains(r"line\u2028two\u202e"), "{out}");
        assert_eq!(line["fields"]["sep"], "line\u{2028}two\u{202e}");
        // Keys stay in the order the formatter wrote them.
        assert!(out.starts_with("{\"timestamp\""), "{out}");
    }

    #[test]
    fn sanitize_escapes_every_control_and_direction_character() {
        assert_eq!(
            sanitize("a\nb\r\u{1b}[31mc\u{202e}d\u{2028}e\u{85}"),
            "a\\nb\\r\\u{1b}[31mc\\u{202e}d\\u{2028}e\\u{85}"
        );
        assert_eq!(sanitize("plain é"), "plain é");
        let long = "é".repeat(MAX_VALUE_BYTES);
        let cut = sanitize(&long);
        assert!(cut.ends_with(&format!("…[truncated, {} bytes in all]", long.len())));
        assert!(cut.len() < MAX_VALUE_BYTES + 64);
    }

    #[test]
    fn capping_json_never_cuts_inside_an_escape() {
        let value = "\\u0001".repeat(MAX_VALUE_BYTES);
        let line =
            serde_json::json!({ "v": "\u{1}".repeat(MAX_VALUE_BYTES), "k": "short" }).to_string();
        assert!(line.contains(&value[..60]));
        let capped = cap_json_strings(&line);
        let parsed: serde_json::Value = serde_json::from_str(&capped).unwrap();
        assert_eq!(parsed["k"], "short");
        let v = parsed["v"].as_str().unwrap();
        assert!(v.ends_with("bytes in all]"), "{v}");
        assert!(v.chars().filter(|c| *c == '\u{1}').count() <= MAX_VALUE_BYTES / 6);
    }
}
