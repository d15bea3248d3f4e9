//! The log or tracing event captured on the host thread.
//!
//! Capturing must cost the host well under a microsecond, so a
//! [`CapturedEvent`] is a plain value: a typical event (a message of a
//! hundred bytes or so and a handful of fields with static names) is built
//! on the capturing thread's stack and copied into a slot of the engine's
//! event queue, with no allocation and no pointer to memory the worker last
//! touched. Only an event too large for its inline buffer spills to the
//! heap. The worker builds the `Report` from it: no id, map or calendar
//! time is made on the host thread.

use std::borrow::Cow;
use std::fmt;
use std::time::SystemTime;

use chrono::{DateTime, Utc};

use crate::model::{LogLine, Severity};

/// Bytes of message and field text kept inline before spilling to the heap.
const INLINE_TEXT: usize = 128;

/// Fields with static names kept inline before spilling to the heap.
const INLINE_FIELDS: usize = 5;

/// Text beyond this is cut: an event is a failure report, not a payload
/// store, and the pipeline would scrub and store every byte.
pub(crate) const MAX_EVENT_TEXT: usize = 256 * 1024;

#[derive(Clone, Copy, Debug)]
struct InlineField {
    name: &'static str,
    start: u16,
    end: u16,
}

const EMPTY_FIELD: InlineField = InlineField {
    name: "",
    start: 0,
    end: 0,
};

// Inline is the point: the large variant is what keeps a typical event off
// the heap.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Storage {
    Inline {
        len: u16,
        nfields: u8,
        text: [u8; INLINE_TEXT],
        fields: [InlineField; INLINE_FIELDS],
    },
    Heap(Box<HeapStorage>),
}

#[derive(Debug, Default)]
struct HeapStorage {
    text: String,
    fields: Vec<(Cow<'static, str>, u32, u32)>,
}

/// A log or tracing event captured on the host thread with as little work
/// as possible; the worker turns it into a report.
///
/// Build one with [`CapturedEvent::new`], write its message and fields, and
/// hand it to [`FlowDoctor::capture_event`](crate::FlowDoctor::capture_event)
/// (routed by severity), [`report_event`](crate::FlowDoctor::report_event)
/// or [`log_event`](crate::FlowDoctor::log_event).
///
/// ```
/// use flow_doctor_core::{CapturedEvent, Severity};
///
/// let mut ev = CapturedEvent::new(Severity::Error, "ERROR", "etl::load".into());
/// ev.push_message_str("load failed");
/// ev.push_field_str("table", "orders");
/// ev.push_field_u64("rows", 1200);
/// ev.push_field_fmt("elapsed", format_args!("{:?}", std::time::Duration::from_millis(1500)));
/// assert_eq!(ev.message(), "load failed");
/// assert_eq!(ev.render(), "load failed table=orders rows=1200 elapsed=1.5s");
/// ```
#[derive(Debug)]
pub struct CapturedEvent {
    severity: Severity,
    level: &'static str,
    target: Cow<'static, str>,
    file: Option<Cow<'static, str>>,
    line: Option<u32>,
    at: SystemTime,
    /// The message's range in the text.
    message: (u32, u32),
    truncated: bool,
    storage: Storage,
}

impl CapturedEvent {
    /// An empty event stamped with the current time.
    pub fn new(severity: Severity, level: &'static str, target: Cow<'static, str>) -> Self {
        Self {
            severity,
            level,
            target,
            file: None,
            line: None,
            at: SystemTime::now(),
            message: (0, 0),
            truncated: false,
            storage: Storage::Inline {
                len: 0,
                nfields: 0,
                text: [0; INLINE_TEXT],
                fields: [EMPTY_FIELD; INLINE_FIELDS],
            },
        }
    }

    /// Severity mapped from the event's level.
    pub fn severity(&self) -> Severity {
        self.severity
    }

    /// Level name as the logging framework prints it.
    pub fn level(&self) -> &'static str {
        self.level
    }

    /// Target (module path or logger name).
    pub fn target(&self) -> &str {
        &self.target
    }

    /// Source file, when known.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// Source line, when known.
    pub fn line(&self) -> Option<u32> {
        self.line
    }

    /// Sets where the event was emitted.
    pub fn set_location(&mut self, file: Option<Cow<'static, str>>, line: Option<u32>) {
        self.file = file;
        self.line = line;
    }

    /// When it was captured.
    pub fn at(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(self.at)
    }

    /// Overrides the capture time (replays, tests).
    pub fn set_at(&mut self, at: DateTime<Utc>) {
        self.at = at.into();
    }

    /// Whether text was cut at the size limit (256 KiB).
    pub fn truncated(&self) -> bool {
        self.truncated
    }

    /// The message.
    pub fn message(&self) -> &str {
        self.slice(self.message.0, self.message.1)
    }

    /// Whether a message was written (cheaper than `message().is_empty()`).
    pub fn has_message(&self) -> bool {
        self.message.0 != self.message.1
    }

    /// Appends to the message.
    pub fn push_message_str(&mut self, text: &str) {
        let mut w = self.message_writer();
        w.push(text);
    }

    /// Appends format arguments to the message, written straight into the
    /// event's buffer.
    pub fn push_message_fmt(&mut self, args: fmt::Arguments<'_>) {
        let mut w = self.message_writer();
        // Writing into the event cannot fail, short of a Display impl that
        // lies; a message cut short by one is still worth keeping.
        let _ = fmt::Write::write_fmt(&mut w, args);
    }

    /// A writer appending to the message (`write!` into it).
    pub fn message_writer(&mut self) -> SegmentWriter<'_> {
        let (start, end) = self.message;
        let len = self.text_len();
        let start = if start == end {
            len
        } else if end == len {
            start
        } else {
            // A field was written after the message: move the message to
            // the end so that it stays one contiguous run.
            let moved = self.slice(start, end).to_owned();
            self.append(&moved);
            len
        };
        self.message = (start, self.text_len());
        SegmentWriter {
            event: self,
            start,
            name: None,
        }
    }

    /// Adds a field whose value is already text.
    pub fn push_field_str(&mut self, name: impl Into<Cow<'static, str>>, value: &str) {
        let name = name.into();
        if let Cow::Borrowed(name) = name
            && self.push_inline_field(name, value.as_bytes())
        {
            return;
        }
        let mut w = self.field_writer(name);
        w.push(value);
    }

    /// The common case in one step: a static name and a value that fit
    /// the inline buffer. False (nothing written) otherwise.
    fn push_inline_field(&mut self, name: &'static str, value: &[u8]) -> bool {
        let Storage::Inline {
            len,
            nfields,
            text,
            fields,
        } = &mut self.storage
        else {
            return false;
        };
        let start = usize::from(*len);
        let end = start + value.len();
        let (Some(dest), Some(slot)) = (
            text.get_mut(start..end),
            fields.get_mut(usize::from(*nfields)),
        ) else {
            return false;
        };
        dest.copy_from_slice(value);
        // Inline text is at most INLINE_TEXT bytes: offsets fit in u16.
        *slot = InlineField {
            name,
            start: start as u16,
            end: end as u16,
        };
        *len = end as u16;
        *nfields += 1;
        true
    }

    /// Adds a field rendered from format arguments (`format_args!("{v:?}")`),
    /// written straight into the event's buffer.
    pub fn push_field_fmt(
        &mut self,
        name: impl Into<Cow<'static, str>>,
        value: fmt::Arguments<'_>,
    ) {
        let mut w = self.field_writer(name);
        let _ = fmt::Write::write_fmt(&mut w, value);
    }

    /// Adds an integer field, formatted without the `fmt` machinery.
    pub fn push_field_u64(&mut self, name: impl Into<Cow<'static, str>>, value: u64) {
        let mut digits = [0u8; 21];
        let at = decimal(&mut digits, false, value);
        self.push_digits(name.into(), &digits[at..]);
    }

    /// Adds a signed integer field, formatted without the `fmt` machinery.
    pub fn push_field_i64(&mut self, name: impl Into<Cow<'static, str>>, value: i64) {
        let mut digits = [0u8; 21];
        let at = decimal(&mut digits, value < 0, value.unsigned_abs());
        self.push_digits(name.into(), &digits[at..]);
    }

    /// Adds a field of ASCII digits (and `-`) written by `decimal`.
    fn push_digits(&mut self, name: Cow<'static, str>, digits: &[u8]) {
        if let Cow::Borrowed(name) = name
            && self.push_inline_field(name, digits)
        {
            return;
        }
        // Only ASCII digits and '-': always UTF-8.
        let text = std::str::from_utf8(digits).unwrap_or("?");
        let mut w = self.field_writer(name);
        w.push(text);
    }

    /// Starts a field written piece by piece through the returned writer;
    /// the field ends when the writer is dropped.
    pub fn field_writer(&mut self, name: impl Into<Cow<'static, str>>) -> SegmentWriter<'_> {
        let start = self.text_len();
        SegmentWriter {
            event: self,
            start,
            name: Some(name.into()),
        }
    }

    /// The fields, in the order they were added.
    pub fn fields(&self) -> Fields<'_> {
        Fields {
            event: self,
            text: self.text(),
            next: 0,
        }
    }

    /// `message key=value key=value`.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(self.text_len() as usize + self.fields().len() * 12);
        out.push_str(self.message());
        for (k, v) in self.fields() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
        out
    }

    /// Renders the event as one log line (for the ring).
    pub fn to_log_line(&self) -> LogLine {
        LogLine {
            at: self.at(),
            level: self.level.to_string(),
            target: self.target.to_string(),
            message: self.render(),
        }
    }

    fn text(&self) -> &str {
        match &self.storage {
            // Only whole `&str`s are ever copied in, so this is UTF-8.
            Storage::Inline { len, text, .. } => {
                std::str::from_utf8(&text[..*len as usize]).unwrap_or("")
            }
            Storage::Heap(heap) => &heap.text,
        }
    }

    fn text_len(&self) -> u32 {
        match &self.storage {
            Storage::Inline { len, .. } => u32::from(*len),
            Storage::Heap(heap) => heap.text.len() as u32,
        }
    }

    fn slice(&self, start: u32, end: u32) -> &str {
        self.text()
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// Appends text, spilling to the heap when the inline buffer is full
    /// and cutting at the size limit.
    fn append(&mut self, piece: &str) {
        if let Storage::Inline { len, text, .. } = &mut self.storage {
            let at = usize::from(*len);
            if let Some(dest) = text.get_mut(at..at + piece.len()) {
                dest.copy_from_slice(piece.as_bytes());
                *len += piece.len() as u16;
                return;
            }
        }
        // Beyond the inline buffer (always far below the limit): on the
        // heap, cut at the limit.
        let len = self.text_len() as usize;
        let room = MAX_EVENT_TEXT.saturating_sub(len);
        let piece = if piece.len() > room {
            self.truncated = true;
            &piece[..floor_char_boundary(piece, room)]
        } else {
            piece
        };
        self.spill().text.push_str(piece);
    }

    fn close_field(&mut self, name: Cow<'static, str>, start: u32) {
        let end = self.text_len();
        if let (
            Storage::Inline {
                nfields, fields, ..
            },
            Cow::Borrowed(name),
        ) = (&mut self.storage, &name)
            && let Some(slot) = fields.get_mut(usize::from(*nfields))
        {
            // Inline text is at most INLINE_TEXT bytes: offsets fit in u16.
            *slot = InlineField {
                name,
                start: start as u16,
                end: end as u16,
            };
            *nfields += 1;
            return;
        }
        self.spill().fields.push((name, start, end));
    }

    /// Moves the event to heap storage (once) and returns it.
    fn spill(&mut self) -> &mut HeapStorage {
        if let Storage::Inline {
            len,
            nfields,
            text,
            fields,
        } = &self.storage
        {
            let mut heap = HeapStorage {
                text: String::with_capacity(INLINE_TEXT * 2),
                fields: Vec::with_capacity(INLINE_FIELDS * 2),
            };
            heap.text
                .push_str(std::str::from_utf8(&text[..usize::from(*len)]).unwrap_or(""));
            for f in &fields[..usize::from(*nfields)] {
                heap.fields
                    .push((Cow::Borrowed(f.name), u32::from(f.start), u32::from(f.end)));
            }
            self.storage = Storage::Heap(Box::new(heap));
        }
        match &mut self.storage {
            Storage::Heap(heap) => heap,
            Storage::Inline { .. } => unreachable!("spilled just above"),
        }
    }
}

/// Iterator over a [`CapturedEvent`]'s fields: `(name, value)`.
#[derive(Debug)]
pub struct Fields<'a> {
    event: &'a CapturedEvent,
    /// The event's text, checked as UTF-8 once for all fields.
    text: &'a str,
    next: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        let event = self.event;
        let (name, start, end) = match &event.storage {
            Storage::Inline {
                nfields, fields, ..
            } => {
                let f = fields[..usize::from(*nfields)].get(self.next)?;
                (f.name, u32::from(f.start), u32::from(f.end))
            }
            Storage::Heap(heap) => {
                let (name, start, end) = heap.fields.get(self.next)?;
                (name.as_ref(), *start, *end)
            }
        };
        self.next += 1;
        let value = self
            .text
            .get(start as usize..end as usize)
            .unwrap_or_default();
        Some((name, value))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let total = match &self.event.storage {
            Storage::Inline { nfields, .. } => usize::from(*nfields),
            Storage::Heap(heap) => heap.fields.len(),
        };
        let left = total.saturating_sub(self.next);
        (left, Some(left))
    }
}

impl ExactSizeIterator for Fields<'_> {}

/// Writes the message or one field of a [`CapturedEvent`]; the segment
/// ends when the writer is dropped. See [`CapturedEvent::field_writer`] and
/// [`CapturedEvent::message_writer`].
#[derive(Debug)]
pub struct SegmentWriter<'a> {
    event: &'a mut CapturedEvent,
    start: u32,
    /// `None` for the message.
    name: Option<Cow<'static, str>>,
}

impl SegmentWriter<'_> {
    fn push(&mut self, piece: &str) {
        self.event.append(piece);
    }
}

impl fmt::Write for SegmentWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s);
        Ok(())
    }
}

impl Drop for SegmentWriter<'_> {
    fn drop(&mut self) {
        match self.name.take() {
            Some(name) => self.event.close_field(name, self.start),
            None => self.event.message = (self.start, self.event.text_len()),
        }
    }
}

/// Writes `value` in decimal (with a leading `-` when `negative`) at the
/// end of `digits`; returns where it starts.
fn decimal(digits: &mut [u8; 21], negative: bool, mut value: u64) -> usize {
    let mut at = digits.len();
    loop {
        at -= 1;
        digits[at] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    if negative {
        at -= 1;
        digits[at] = b'-';
    }
    at
}

fn floor_char_boundary(s: &str, mut at: usize) -> usize {
    while at > 0 && !s.is_char_boundary(at) {
        at -= 1;
    }
    at
}

#[cfg(test)]
mod tests {
    use std::fmt::Write as _;

    use super::*;

    fn event() -> CapturedEvent {
        CapturedEvent::new(Severity::Error, "ERROR", "etl".into())
    }

    #[test]
    fn fields_keep_their_order_and_text() {
        let mut ev = event();
        ev.push_message_str("load failed");
        ev.push_field_str("table", "orders");
        ev.push_field_fmt("rows", format_args!("{}", 12));
        {
            let mut w = ev.field_writer("span");
            w.write_str("run").unwrap();
            w.write_str(" > load").unwrap();
        }
        ev.push_field_str("empty", "");
        assert!(matches!(ev.storage, Storage::Inline { .. }));
        ev.push_field_u64("max", u64::MAX);
        ev.push_field_i64("min", i64::MIN);
        ev.push_field_i64("zero", 0);
        assert!(
            matches!(ev.storage, Storage::Heap(_)),
            "more than five fields spill"
        );
        let fields: Vec<_> = ev.fields().collect();
        assert_eq!(
            fields,
            [
                ("table", "orders"),
                ("rows", "12"),
                ("span", "run > load"),
                ("empty", ""),
                ("max", "18446744073709551615"),
                ("min", "-9223372036854775808"),
                ("zero", "0"),
            ]
        );
        assert_eq!(ev.fields().len(), 7);
        assert_eq!(
            ev.render(),
            "load failed table=orders rows=12 span=run > load empty= \
             max=18446744073709551615 min=-9223372036854775808 zero=0"
        );
    }

    #[test]
    fn long_text_and_owned_names_spill_to_the_heap_intact() {
        let mut ev = event();
        ev.push_message_str("ü".repeat(40).as_str());
        ev.push_field_str("short", "ok");
        assert!(matches!(ev.storage, Storage::Inline { .. }));
        let long = "é".repeat(100);
        ev.push_field_str("long", &long);
        assert!(matches!(ev.storage, Storage::Heap(_)));
        ev.push_field_str(String::from("owned"), "name");
        assert_eq!(ev.message(), "ü".repeat(40));
        let fields: Vec<_> = ev.fields().collect();
        assert_eq!(
            fields,
            [("short", "ok"), ("long", long.as_str()), ("owned", "name")]
        );

        let mut ev = event();
        ev.push_field_str(String::from("owned"), "first");
        assert!(
            matches!(ev.storage, Storage::Heap(_)),
            "an owned name spills"
        );
        assert_eq!(ev.fields().collect::<Vec<_>>(), [("owned", "first")]);
    }

    #[test]
    fn the_inline_buffer_fills_to_the_byte_then_spills() {
        let mut ev = event();
        ev.push_message_str(&"m".repeat(INLINE_TEXT - 10));
        ev.push_field_str("a", "0123456789");
        assert!(
            matches!(ev.storage, Storage::Inline { len, .. } if usize::from(len) == INLINE_TEXT)
        );
        ev.push_field_u64("n", 7);
        assert!(
            matches!(ev.storage, Storage::Heap(_)),
            "one byte past spills"
        );
        ev.push_field_i64(String::from("owned"), -42);
        assert_eq!(
            ev.fields().collect::<Vec<_>>(),
            [("a", "0123456789"), ("n", "7"), ("owned", "-42")]
        );
        assert_eq!(ev.message(), "m".repeat(INLINE_TEXT - 10));
    }

    #[test]
    fn a_message_written_after_a_field_stays_contiguous() {
        let mut ev = event();
        ev.push_message_str("load ");
        ev.push_field_str("table", "orders");
        ev.push_message_fmt(format_args!("failed after {} tries", 3));
        assert_eq!(ev.message(), "load failed after 3 tries");
        assert_eq!(ev.fields().collect::<Vec<_>>(), [("table", "orders")]);
        assert_eq!(ev.render(), "load failed after 3 tries table=orders");
    }

    #[test]
    fn text_past_the_limit_is_cut_on_a_char_boundary() {
        let mut ev = event();
        ev.push_message_str("head");
        ev.push_field_str("blob", &"ß".repeat(MAX_EVENT_TEXT));
        ev.push_field_str("after", "gone");
        assert!(ev.truncated());
        let fields: Vec<_> = ev.fields().collect();
        assert_eq!(fields[0].0, "blob");
        assert!(fields[0].1.len() <= MAX_EVENT_TEXT - 4);
        assert!(fields[0].1.chars().all(|c| c == 'ß'));
        assert_eq!(fields[1], ("after", ""));
        assert_eq!(ev.message(), "head");
    }
}
