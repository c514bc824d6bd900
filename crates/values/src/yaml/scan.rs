//! A YAML scanner that tokenizes exactly as go-yaml v2 (libyaml's scanner, the reader behind
//! Helm) does: the same simple-key rules, indentation stack, tab rules, escapes, block scalar
//! chomping and the same problem phrases, so a file Helm accepts is accepted here with the same
//! tokens and a file Helm refuses is refused with Helm's words plus a real `line:col`.
//!
//! It works on UTF-8 text in place (byte offsets, no per-character buffer) and keeps only the
//! pending tokens, so its memory does not grow with the input.

use std::collections::VecDeque;

/// A position: byte offset, 0-based line and 0-based column (in characters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pos {
    pub index: usize,
    pub line: usize,
    pub col: usize,
}

/// How a scalar was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    Single,
    Double,
    Literal,
    Folded,
}

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    StreamStart,
    StreamEnd,
    Version(u32, u32),
    TagDirective(String, String),
    DocStart,
    DocEnd,
    BlockSeqStart,
    BlockMapStart,
    BlockEnd,
    FlowSeqStart,
    FlowSeqEnd,
    FlowMapStart,
    FlowMapEnd,
    BlockEntry,
    FlowEntry,
    Key,
    Value,
    Alias(String),
    Anchor(String),
    /// Handle and suffix (handle empty for a verbatim `!<...>` tag).
    Tag(String, String),
    Scalar(String, Style),
}

/// A token and where it starts.
#[derive(Debug, Clone)]
pub struct Token {
    pub tok: Tok,
    pub start: Pos,
}

/// A scanner or parser problem, in libyaml's words, and where it was found.
#[derive(Debug, Clone)]
pub struct Problem {
    pub pos: Pos,
    pub problem: String,
}

pub type Result<T> = std::result::Result<T, Problem>;

#[derive(Debug, Clone, Copy, Default)]
struct SimpleKey {
    possible: bool,
    required: bool,
    token_number: usize,
    mark: Pos,
}

/// Deepest flow nesting the scanner tracks before refusing (the tree builder refuses far
/// earlier; this only bounds the scanner's own stacks).
const MAX_LEVELS: usize = 10_000;

/// The scanner over one YAML text.
pub struct Scanner<'a> {
    text: &'a str,
    mark: Pos,
    tokens: VecDeque<Token>,
    tokens_parsed: usize,
    stream_start_produced: bool,
    stream_end_produced: bool,
    indent: isize,
    indents: Vec<isize>,
    simple_key_allowed: bool,
    simple_keys: Vec<SimpleKey>,
    flow_level: usize,
}

fn utf8_width(b: u8) -> usize {
    match b {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        _ => 4,
    }
}

impl<'a> Scanner<'a> {
    /// A scanner over `text`; positions start at `first_line` (0-based).
    pub fn new(text: &'a str, first_line: usize) -> Self {
        Scanner {
            text,
            mark: Pos {
                index: 0,
                line: first_line,
                col: 0,
            },
            tokens: VecDeque::new(),
            tokens_parsed: 0,
            stream_start_produced: false,
            stream_end_produced: false,
            indent: -1,
            indents: Vec::new(),
            simple_key_allowed: false,
            simple_keys: Vec::new(),
            flow_level: 0,
        }
    }

    // ---------------------------------------------------------------- characters

    fn src(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn b(&self, k: usize) -> u8 {
        self.src().get(self.mark.index + k).copied().unwrap_or(0)
    }

    fn at(&self, k: usize, s: &[u8]) -> bool {
        self.src()
            .get(self.mark.index + k..)
            .is_some_and(|r| r.starts_with(s))
    }

    fn is_z(&self, k: usize) -> bool {
        self.mark.index + k >= self.src().len()
    }

    /// CR, LF, NEL (C2 85), LS (E2 80 A8) or PS (E2 80 A9), by their UTF-8 bytes: this runs
    /// for nearly every character scanned.
    fn is_break(&self, k: usize) -> bool {
        match self.b(k) {
            b'\r' | b'\n' => true,
            0xC2 => self.b(k + 1) == 0x85,
            0xE2 => self.b(k + 1) == 0x80 && matches!(self.b(k + 2), 0xA8 | 0xA9),
            _ => false,
        }
    }

    fn is_blank(&self, k: usize) -> bool {
        matches!(self.b(k), b' ' | b'\t')
    }

    fn is_breakz(&self, k: usize) -> bool {
        self.is_z(k) || self.is_break(k)
    }

    fn is_blankz(&self, k: usize) -> bool {
        self.is_blank(k) || self.is_breakz(k)
    }

    fn is_alpha(&self, k: usize) -> bool {
        let c = self.b(k);
        c.is_ascii_alphanumeric() || c == b'_' || c == b'-'
    }

    fn is_bom(&self) -> bool {
        self.at(0, "\u{feff}".as_bytes())
    }

    fn width(&self) -> usize {
        utf8_width(self.b(0))
    }

    fn skip(&mut self) {
        self.mark.index += self.width();
        self.mark.col += 1;
    }

    fn skip_line(&mut self) {
        if self.at(0, b"\r\n") {
            self.mark.index += 2;
        } else if self.is_break(0) {
            self.mark.index += self.width();
        } else {
            return;
        }
        self.mark.col = 0;
        self.mark.line += 1;
    }

    fn read(&mut self, s: &mut String) {
        let w = self.width();
        let i = self.mark.index;
        s.push_str(self.text.get(i..i + w).unwrap_or("\u{fffd}"));
        self.mark.index += w;
        self.mark.col += 1;
    }

    /// Skips a comment (`#` to the end of its line), if one starts at the mark. Only the bytes
    /// that may start a line break (CR, LF, and the lead bytes of NEL, LS and PS) are looked
    /// at one by one; the column counts characters, as `skip` does.
    fn skip_comment(&mut self) {
        if self.b(0) != b'#' {
            return;
        }
        loop {
            let rest = self.src().get(self.mark.index..).unwrap_or_default();
            let run = rest
                .iter()
                .position(|&c| matches!(c, b'\r' | b'\n' | 0xC2 | 0xE2))
                .unwrap_or(rest.len());
            self.mark.col += rest[..run].iter().filter(|&&c| c & 0xC0 != 0x80).count();
            self.mark.index += run;
            if self.is_breakz(0) {
                return;
            }
            self.skip();
        }
    }

    /// Reads the character at the mark, and with it every following byte that cannot end or
    /// change a plain scalar: printable ASCII other than `:` (and, in flow context, `,?[]{}`).
    /// Blanks, breaks, `:` and anything non-ASCII are left to the caller's checks. Keys and
    /// values are mostly such runs, and reading them a character at a time was most of the
    /// scanner's time.
    fn read_plain_run(&mut self, s: &mut String) {
        self.read(s);
        let start = self.mark.index;
        let flow = self.flow_level > 0;
        let run = self
            .src()
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(|&&c| {
                matches!(c, 0x21..=0x7e) && c != b':' && !(flow && b",?[]{}".contains(&c))
            })
            .count();
        s.push_str(self.text.get(start..start + run).unwrap_or_default());
        self.mark.index += run;
        self.mark.col += run;
    }

    /// Reads a line break: CR, LF, CRLF and NEL become `\n`, LS and PS are kept.
    fn read_line(&mut self, s: &mut String) {
        if self.at(0, b"\r\n") {
            s.push('\n');
            self.mark.index += 2;
        } else if matches!(self.b(0), b'\r' | b'\n') {
            s.push('\n');
            self.mark.index += 1;
        } else if self.at(0, "\u{85}".as_bytes()) {
            s.push('\n');
            self.mark.index += 2;
        } else if self.is_break(0) {
            s.push_str(
                std::str::from_utf8(&self.src()[self.mark.index..self.mark.index + 3])
                    .unwrap_or(""),
            );
            self.mark.index += 3;
        } else {
            return;
        }
        self.mark.col = 0;
        self.mark.line += 1;
    }

    fn error<T>(&self, problem: impl Into<String>) -> Result<T> {
        Err(Problem {
            pos: self.mark,
            problem: problem.into(),
        })
    }

    // ---------------------------------------------------------------- token queue

    /// The next token, without consuming it.
    pub fn peek(&mut self) -> Result<&Token> {
        if self.tokens.is_empty() || self.head_needs_more()? {
            self.fetch_more()?;
        }
        match self.tokens.front() {
            Some(t) => Ok(t),
            None => self.error("no more tokens"),
        }
    }

    /// Consumes the token `peek` returned.
    pub fn next(&mut self) -> Result<Token> {
        self.peek()?;
        let t = self.tokens.pop_front().expect("peeked");
        self.tokens_parsed += 1;
        if t.tok == Tok::StreamEnd {
            self.stream_end_produced = true;
        }
        Ok(t)
    }

    /// Whether the head token may still become a simple key (so more must be scanned).
    fn head_needs_more(&mut self) -> Result<bool> {
        let head = self.tokens_parsed;
        let Some(i) = self
            .simple_keys
            .iter()
            .rposition(|k| k.possible && k.token_number == head)
        else {
            return Ok(false);
        };
        let mut key = self.simple_keys[i];
        let valid = self.key_is_valid(&mut key)?;
        self.simple_keys[i] = key;
        Ok(valid)
    }

    fn fetch_more(&mut self) -> Result<()> {
        loop {
            if self.stream_end_produced && self.tokens.is_empty() {
                return self.error("no more tokens");
            }
            if !self.tokens.is_empty() && !self.head_needs_more()? {
                return Ok(());
            }
            if self.tokens.back().is_some_and(|t| t.tok == Tok::StreamEnd) {
                return Ok(());
            }
            self.fetch_next()?;
        }
    }

    fn push(&mut self, tok: Tok, start: Pos) {
        self.tokens.push_back(Token { tok, start });
    }

    fn insert(&mut self, number: usize, tok: Tok, start: Pos) {
        let at = number
            .saturating_sub(self.tokens_parsed)
            .min(self.tokens.len());
        self.tokens.insert(at, Token { tok, start });
    }

    fn queued(&self) -> usize {
        self.tokens_parsed + self.tokens.len()
    }

    // ---------------------------------------------------------------- simple keys

    fn key_is_valid(&self, key: &mut SimpleKey) -> Result<bool> {
        if !key.possible {
            return Ok(false);
        }
        if key.mark.line < self.mark.line || key.mark.index + 1024 < self.mark.index {
            if key.required {
                return Err(Problem {
                    pos: key.mark,
                    problem: "could not find expected ':'".into(),
                });
            }
            key.possible = false;
            return Ok(false);
        }
        Ok(true)
    }

    fn save_simple_key(&mut self) -> Result<()> {
        let required = self.flow_level == 0 && self.indent == self.mark.col as isize;
        if self.simple_key_allowed {
            let key = SimpleKey {
                possible: true,
                required,
                token_number: self.queued(),
                mark: self.mark,
            };
            self.remove_simple_key()?;
            *self.simple_keys.last_mut().expect("stream started") = key;
        }
        Ok(())
    }

    fn remove_simple_key(&mut self) -> Result<()> {
        let key = self.simple_keys.last_mut().expect("stream started");
        if key.possible {
            if key.required {
                return Err(Problem {
                    pos: key.mark,
                    problem: "could not find expected ':'".into(),
                });
            }
            key.possible = false;
        }
        Ok(())
    }

    fn increase_flow_level(&mut self) -> Result<()> {
        self.simple_keys.push(SimpleKey {
            token_number: self.queued(),
            mark: self.mark,
            ..SimpleKey::default()
        });
        self.flow_level += 1;
        if self.flow_level > MAX_LEVELS {
            return self.error(format!("exceeded max depth of {MAX_LEVELS}"));
        }
        Ok(())
    }

    fn decrease_flow_level(&mut self) {
        if self.flow_level > 0 {
            self.flow_level -= 1;
            self.simple_keys.pop();
        }
    }

    fn roll_indent(
        &mut self,
        col: usize,
        number: Option<usize>,
        tok: Tok,
        mark: Pos,
    ) -> Result<()> {
        if self.flow_level > 0 {
            return Ok(());
        }
        if self.indent < col as isize {
            self.indents.push(self.indent);
            self.indent = col as isize;
            if self.indents.len() > MAX_LEVELS {
                return self.error(format!("exceeded max depth of {MAX_LEVELS}"));
            }
            match number {
                Some(n) => self.insert(n, tok, mark),
                None => self.push(tok, mark),
            }
        }
        Ok(())
    }

    fn unroll_indent(&mut self, col: isize) {
        if self.flow_level > 0 {
            return;
        }
        while self.indent > col {
            self.push(Tok::BlockEnd, self.mark);
            self.indent = self.indents.pop().unwrap_or(-1);
        }
    }

    // ---------------------------------------------------------------- dispatch

    fn fetch_next(&mut self) -> Result<()> {
        if !self.stream_start_produced {
            self.indent = -1;
            self.simple_keys.push(SimpleKey::default());
            self.simple_key_allowed = true;
            self.stream_start_produced = true;
            if self.is_bom() {
                self.mark.index += 3;
            }
            self.push(Tok::StreamStart, self.mark);
            return Ok(());
        }
        self.scan_to_next_token()?;
        self.unroll_indent(self.mark.col as isize);
        if self.is_z(0) {
            return self.fetch_stream_end();
        }
        let c = self.b(0);
        let col0 = self.mark.col == 0;
        if col0 && c == b'%' {
            return self.fetch_directive();
        }
        if col0 && self.at(0, b"---") && self.is_blankz(3) {
            return self.fetch_document_indicator(Tok::DocStart);
        }
        if col0 && self.at(0, b"...") && self.is_blankz(3) {
            return self.fetch_document_indicator(Tok::DocEnd);
        }
        let next_blankz = self.is_blankz(1);
        match c {
            b'[' => self.fetch_flow_start(Tok::FlowSeqStart),
            b'{' => self.fetch_flow_start(Tok::FlowMapStart),
            b']' => self.fetch_flow_end(Tok::FlowSeqEnd),
            b'}' => self.fetch_flow_end(Tok::FlowMapEnd),
            b',' => self.fetch_flow_entry(),
            b'-' if next_blankz => self.fetch_block_entry(),
            b'?' if self.flow_level > 0 || next_blankz => self.fetch_key(),
            b':' if self.flow_level > 0 || next_blankz => self.fetch_value(),
            b'*' => self.fetch_anchor(true),
            b'&' => self.fetch_anchor(false),
            b'!' => self.fetch_tag(),
            b'|' if self.flow_level == 0 => self.fetch_block_scalar(true),
            b'>' if self.flow_level == 0 => self.fetch_block_scalar(false),
            b'\'' => self.fetch_flow_scalar(true),
            b'"' => self.fetch_flow_scalar(false),
            _ if self.can_start_plain() => self.fetch_plain_scalar(),
            b'\t' => self.error(
                "found character that cannot start any token (a tab: YAML indents with spaces only)",
            ),
            b'@' | b'`' => self.error(format!(
                "found character that cannot start any token ({:?} is reserved in YAML: quote the value)",
                c as char
            )),
            _ => self.error("found character that cannot start any token"),
        }
    }

    fn can_start_plain(&self) -> bool {
        let c = self.b(0);
        let indicator = b"-?:,[]{}#&*!|>'\"%@`".contains(&c);
        !(self.is_blankz(0) || indicator)
            || (c == b'-' && !self.is_blank(1))
            || (self.flow_level == 0 && (c == b'?' || c == b':') && !self.is_blankz(1))
    }

    fn scan_to_next_token(&mut self) -> Result<()> {
        loop {
            if self.mark.col == 0 && self.is_bom() {
                self.skip();
            }
            while self.b(0) == b' '
                || ((self.flow_level > 0 || !self.simple_key_allowed) && self.b(0) == b'\t')
            {
                self.skip();
            }
            self.skip_comment();
            if self.is_break(0) {
                self.skip_line();
                if self.flow_level == 0 {
                    self.simple_key_allowed = true;
                }
            } else {
                return Ok(());
            }
        }
    }

    fn fetch_stream_end(&mut self) -> Result<()> {
        if self.mark.col != 0 {
            self.mark.col = 0;
            self.mark.line += 1;
        }
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        self.push(Tok::StreamEnd, self.mark);
        Ok(())
    }

    fn fetch_directive(&mut self) -> Result<()> {
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let start = self.mark;
        let tok = self.scan_directive()?;
        self.push(tok, start);
        Ok(())
    }

    fn fetch_document_indicator(&mut self, tok: Tok) -> Result<()> {
        self.unroll_indent(-1);
        self.remove_simple_key()?;
        self.simple_key_allowed = false;
        let start = self.mark;
        self.skip();
        self.skip();
        self.skip();
        self.push(tok, start);
        Ok(())
    }

    fn fetch_flow_start(&mut self, tok: Tok) -> Result<()> {
        self.save_simple_key()?;
        self.increase_flow_level()?;
        self.simple_key_allowed = true;
        let start = self.mark;
        self.skip();
        self.push(tok, start);
        Ok(())
    }

    fn fetch_flow_end(&mut self, tok: Tok) -> Result<()> {
        self.remove_simple_key()?;
        self.decrease_flow_level();
        self.simple_key_allowed = false;
        let start = self.mark;
        self.skip();
        self.push(tok, start);
        Ok(())
    }

    /// A one-character indicator token (`,`, `-`, `?`): it ends any pending
    /// simple key, says whether one may start right after it, and is pushed
    /// at the current mark.
    fn indicator(&mut self, tok: Tok, key_allowed_after: bool) -> Result<()> {
        self.remove_simple_key()?;
        self.simple_key_allowed = key_allowed_after;
        let start = self.mark;
        self.skip();
        self.push(tok, start);
        Ok(())
    }

    fn fetch_flow_entry(&mut self) -> Result<()> {
        self.indicator(Tok::FlowEntry, true)
    }

    fn fetch_block_entry(&mut self) -> Result<()> {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                return self.error("block sequence entries are not allowed in this context");
            }
            self.roll_indent(self.mark.col, None, Tok::BlockSeqStart, self.mark)?;
        }
        self.indicator(Tok::BlockEntry, true)
    }

    fn fetch_key(&mut self) -> Result<()> {
        if self.flow_level == 0 {
            if !self.simple_key_allowed {
                return self.error("mapping keys are not allowed in this context");
            }
            self.roll_indent(self.mark.col, None, Tok::BlockMapStart, self.mark)?;
        }
        self.indicator(Tok::Key, self.flow_level == 0)
    }

    fn fetch_value(&mut self) -> Result<()> {
        let mut key = *self.simple_keys.last().expect("stream started");
        let valid = self.key_is_valid(&mut key)?;
        *self.simple_keys.last_mut().expect("stream started") = key;
        if valid {
            self.insert(key.token_number, Tok::Key, key.mark);
            self.roll_indent(
                key.mark.col,
                Some(key.token_number),
                Tok::BlockMapStart,
                key.mark,
            )?;
            self.simple_keys
                .last_mut()
                .expect("stream started")
                .possible = false;
            self.simple_key_allowed = false;
        } else {
            if self.flow_level == 0 {
                if !self.simple_key_allowed {
                    return self.error("mapping values are not allowed in this context");
                }
                self.roll_indent(self.mark.col, None, Tok::BlockMapStart, self.mark)?;
            }
            self.simple_key_allowed = self.flow_level == 0;
        }
        let start = self.mark;
        self.skip();
        self.push(Tok::Value, start);
        Ok(())
    }

    fn fetch_anchor(&mut self, alias: bool) -> Result<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let start = self.mark;
        self.skip();
        let mut s = String::new();
        while self.is_alpha(0) {
            self.read(&mut s);
        }
        let ok_end = self.is_blankz(0) || b"?:,]}%@`".contains(&self.b(0));
        if s.is_empty() || !ok_end {
            return self.error("did not find expected alphabetic or numeric character");
        }
        self.push(if alias { Tok::Alias(s) } else { Tok::Anchor(s) }, start);
        Ok(())
    }

    fn fetch_tag(&mut self) -> Result<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let start = self.mark;
        let (handle, suffix) = if self.b(1) == b'<' {
            self.skip();
            self.skip();
            let suffix = self.scan_tag_uri(false, "")?;
            if self.b(0) != b'>' {
                return self.error("did not find the expected '>'");
            }
            self.skip();
            (String::new(), suffix)
        } else {
            let handle = self.scan_tag_handle(false)?;
            if handle.len() > 1 && handle.ends_with('!') {
                let suffix = self.scan_tag_uri(false, "")?;
                (handle, suffix)
            } else {
                let suffix = self.scan_tag_uri(false, &handle)?;
                if suffix.is_empty() {
                    (String::new(), "!".to_string())
                } else {
                    ("!".to_string(), suffix)
                }
            }
        };
        if !self.is_blankz(0) {
            return self.error("did not find expected whitespace or line break");
        }
        self.push(Tok::Tag(handle, suffix), start);
        Ok(())
    }

    fn scan_tag_handle(&mut self, directive: bool) -> Result<String> {
        if self.b(0) != b'!' {
            return self.error("did not find expected '!'");
        }
        let mut s = String::new();
        self.read(&mut s);
        while self.is_alpha(0) {
            self.read(&mut s);
        }
        if self.b(0) == b'!' {
            self.read(&mut s);
        } else if directive && s != "!" {
            return self.error("did not find expected '!'");
        }
        Ok(s)
    }

    /// `head` is a handle already read that turned out to start the URI (`!foo`).
    fn scan_tag_uri(&mut self, directive: bool, head: &str) -> Result<String> {
        let mut bytes: Vec<u8> = head.as_bytes().get(1..).unwrap_or_default().to_vec();
        let mut has_tag = !head.is_empty();
        while self.is_alpha(0) || b";/?:@&=+$,.!~*'()[]%".contains(&self.b(0)) {
            if self.b(0) == b'%' {
                self.scan_uri_escapes(directive, &mut bytes)?;
            } else {
                let w = self.width();
                bytes.extend_from_slice(&self.src()[self.mark.index..self.mark.index + w]);
                self.skip();
            }
            has_tag = true;
        }
        if !has_tag {
            return self.error("did not find expected tag URI");
        }
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    fn scan_uri_escapes(&mut self, _directive: bool, out: &mut Vec<u8>) -> Result<()> {
        let mut w = 1024usize;
        while w > 0 {
            let hex = |c: u8| (c as char).to_digit(16);
            let (Some(h), Some(l)) = (hex(self.b(1)), hex(self.b(2))) else {
                return self.error("did not find URI escaped octet");
            };
            if self.b(0) != b'%' {
                return self.error("did not find URI escaped octet");
            }
            let octet = (h * 16 + l) as u8;
            if w == 1024 {
                w = match octet {
                    0x00..=0x7F => 1,
                    0xC0..=0xDF => 2,
                    0xE0..=0xEF => 3,
                    0xF0..=0xF7 => 4,
                    _ => return self.error("found an incorrect leading UTF-8 octet"),
                };
            } else if octet & 0xC0 != 0x80 {
                return self.error("found an incorrect trailing UTF-8 octet");
            }
            out.push(octet);
            self.skip();
            self.skip();
            self.skip();
            w -= 1;
        }
        Ok(())
    }

    fn scan_directive(&mut self) -> Result<Tok> {
        self.skip();
        let mut name = String::new();
        while self.is_alpha(0) {
            self.read(&mut name);
        }
        if name.is_empty() {
            return self.error("could not find expected directive name");
        }
        if !self.is_blankz(0) {
            return self.error("found unexpected non-alphabetical character");
        }
        let tok = match name.as_str() {
            "YAML" => {
                self.skip_blanks();
                let major = self.scan_version_number()?;
                if self.b(0) != b'.' {
                    return self.error("did not find expected digit or '.' character");
                }
                self.skip();
                let minor = self.scan_version_number()?;
                Tok::Version(major, minor)
            }
            "TAG" => {
                self.skip_blanks();
                let handle = self.scan_tag_handle(true)?;
                if !self.is_blank(0) {
                    return self.error("did not find expected whitespace");
                }
                self.skip_blanks();
                let prefix = self.scan_tag_uri(true, "")?;
                if !self.is_blankz(0) {
                    return self.error("did not find expected whitespace or line break");
                }
                Tok::TagDirective(handle, prefix)
            }
            _ => return self.error("found unknown directive name"),
        };
        self.skip_blanks();
        self.skip_comment();
        if !self.is_breakz(0) {
            return self.error("did not find expected comment or line break");
        }
        self.skip_line();
        Ok(tok)
    }

    fn skip_blanks(&mut self) {
        while self.is_blank(0) {
            self.skip();
        }
    }

    fn scan_version_number(&mut self) -> Result<u32> {
        let mut n = 0u32;
        let mut len = 0;
        while self.b(0).is_ascii_digit() {
            len += 1;
            if len > 9 {
                return self.error("found extremely long version number");
            }
            n = n * 10 + u32::from(self.b(0) - b'0');
            self.skip();
        }
        if len == 0 {
            return self.error("did not find expected version number");
        }
        Ok(n)
    }

    // ---------------------------------------------------------------- scalars

    fn fetch_block_scalar(&mut self, literal: bool) -> Result<()> {
        self.remove_simple_key()?;
        self.simple_key_allowed = true;
        let start = self.mark;
        let s = self.scan_block_scalar(literal)?;
        let style = if literal {
            Style::Literal
        } else {
            Style::Folded
        };
        self.push(Tok::Scalar(s, style), start);
        Ok(())
    }

    fn fetch_flow_scalar(&mut self, single: bool) -> Result<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let start = self.mark;
        let s = self.scan_flow_scalar(single)?;
        let style = if single { Style::Single } else { Style::Double };
        self.push(Tok::Scalar(s, style), start);
        Ok(())
    }

    fn fetch_plain_scalar(&mut self) -> Result<()> {
        self.save_simple_key()?;
        self.simple_key_allowed = false;
        let start = self.mark;
        let s = self.scan_plain_scalar()?;
        self.push(Tok::Scalar(s, Style::Plain), start);
        Ok(())
    }

    fn block_header(&mut self) -> Result<(i8, usize)> {
        let mut chomping = 0i8;
        let mut increment = 0usize;
        let chomp = |c: u8| match c {
            b'+' => Some(1i8),
            b'-' => Some(-1i8),
            _ => None,
        };
        if let Some(c) = chomp(self.b(0)) {
            chomping = c;
            self.skip();
            if self.b(0).is_ascii_digit() {
                if self.b(0) == b'0' {
                    return self.error("found an indentation indicator equal to 0");
                }
                increment = usize::from(self.b(0) - b'0');
                self.skip();
            }
        } else if self.b(0).is_ascii_digit() {
            if self.b(0) == b'0' {
                return self.error("found an indentation indicator equal to 0");
            }
            increment = usize::from(self.b(0) - b'0');
            self.skip();
            if let Some(c) = chomp(self.b(0)) {
                chomping = c;
                self.skip();
            }
        }
        self.skip_blanks();
        self.skip_comment();
        if !self.is_breakz(0) {
            return self.error("did not find expected comment or line break");
        }
        self.skip_line();
        Ok((chomping, increment))
    }

    fn scan_block_scalar(&mut self, literal: bool) -> Result<String> {
        self.skip();
        let (chomping, increment) = self.block_header()?;
        let mut indent = 0usize;
        if increment > 0 {
            indent = if self.indent >= 0 {
                self.indent as usize + increment
            } else {
                increment
            };
        }
        let mut s = String::new();
        let mut leading_break = String::new();
        let mut trailing_breaks = String::new();
        self.block_breaks(&mut indent, &mut trailing_breaks)?;
        let mut leading_blank = false;
        while self.mark.col == indent && !self.is_z(0) {
            let trailing_blank = self.is_blank(0);
            if !literal && !leading_blank && !trailing_blank && leading_break.starts_with('\n') {
                if trailing_breaks.is_empty() {
                    s.push(' ');
                }
            } else {
                s.push_str(&leading_break);
            }
            leading_break.clear();
            s.push_str(&trailing_breaks);
            trailing_breaks.clear();
            leading_blank = self.is_blank(0);
            while !self.is_breakz(0) {
                self.read(&mut s);
            }
            self.read_line(&mut leading_break);
            self.block_breaks(&mut indent, &mut trailing_breaks)?;
        }
        if chomping != -1 {
            s.push_str(&leading_break);
        }
        if chomping == 1 {
            s.push_str(&trailing_breaks);
        }
        Ok(s)
    }

    fn block_breaks(&mut self, indent: &mut usize, breaks: &mut String) -> Result<()> {
        let mut max_indent = 0usize;
        loop {
            while (*indent == 0 || self.mark.col < *indent) && self.b(0) == b' ' {
                self.skip();
            }
            max_indent = max_indent.max(self.mark.col);
            if (*indent == 0 || self.mark.col < *indent) && self.b(0) == b'\t' {
                return self.error("found a tab character where an indentation space is expected");
            }
            if !self.is_break(0) {
                break;
            }
            self.read_line(breaks);
        }
        if *indent == 0 {
            *indent = max_indent.max((self.indent + 1).max(1) as usize);
        }
        Ok(())
    }

    fn at_document_indicator(&self) -> bool {
        self.mark.col == 0 && (self.at(0, b"---") || self.at(0, b"...")) && self.is_blankz(3)
    }

    fn scan_flow_scalar(&mut self, single: bool) -> Result<String> {
        self.skip();
        let mut s = String::new();
        let mut leading_break = String::new();
        let mut trailing_breaks = String::new();
        let mut whitespaces = String::new();
        loop {
            if self.at_document_indicator() {
                return self.error("found unexpected document indicator");
            }
            if self.is_z(0) {
                return self.error("found unexpected end of stream");
            }
            let mut leading_blanks = false;
            while !self.is_blankz(0) {
                let c = self.b(0);
                if single && c == b'\'' && self.b(1) == b'\'' {
                    s.push('\'');
                    self.skip();
                    self.skip();
                } else if (single && c == b'\'') || (!single && c == b'"') {
                    break;
                } else if !single && c == b'\\' && self.is_break(1) {
                    self.skip();
                    self.skip_line();
                    leading_blanks = true;
                    break;
                } else if !single && c == b'\\' {
                    self.escape(&mut s)?;
                } else {
                    self.read(&mut s);
                }
            }
            if self.b(0) == if single { b'\'' } else { b'"' } {
                break;
            }
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    if leading_blanks {
                        self.skip();
                    } else {
                        self.read(&mut whitespaces);
                    }
                } else if leading_blanks {
                    self.read_line(&mut trailing_breaks);
                } else {
                    whitespaces.clear();
                    self.read_line(&mut leading_break);
                    leading_blanks = true;
                }
            }
            if leading_blanks {
                fold(&mut s, &mut leading_break, &mut trailing_breaks);
            } else {
                s.push_str(&whitespaces);
                whitespaces.clear();
            }
        }
        self.skip();
        Ok(s)
    }

    fn escape(&mut self, s: &mut String) -> Result<()> {
        let simple = match self.b(1) {
            b'0' => Some("\0"),
            b'a' => Some("\x07"),
            b'b' => Some("\x08"),
            b't' | b'\t' => Some("\t"),
            b'n' => Some("\n"),
            b'v' => Some("\x0b"),
            b'f' => Some("\x0c"),
            b'r' => Some("\r"),
            b'e' => Some("\x1b"),
            b' ' => Some(" "),
            b'"' => Some("\""),
            b'\'' => Some("'"),
            b'\\' => Some("\\"),
            b'N' => Some("\u{85}"),
            b'_' => Some("\u{a0}"),
            b'L' => Some("\u{2028}"),
            b'P' => Some("\u{2029}"),
            b'x' | b'u' | b'U' => None,
            _ => {
                let next = std::str::from_utf8(&self.src()[self.mark.index + 1..])
                    .ok()
                    .and_then(|r| r.chars().next())
                    .unwrap_or(' ');
                return self.error(format!(
                    "found unknown escape character '\\{next}' (Helm refuses it too: drop the \
                     backslash or use single quotes)"
                ));
            }
        };
        let code_length = match self.b(1) {
            b'x' => 2,
            b'u' => 4,
            b'U' => 8,
            _ => 0,
        };
        self.skip();
        self.skip();
        if let Some(t) = simple {
            s.push_str(t);
            return Ok(());
        }
        let mut value = 0u32;
        for k in 0..code_length {
            let Some(d) = (self.b(k) as char).to_digit(16) else {
                return self.error("did not find expected hexdecimal number");
            };
            value = (value << 4) + d;
        }
        match char::from_u32(value) {
            Some(c) => s.push(c),
            None => return self.error("found invalid Unicode character escape code"),
        }
        for _ in 0..code_length {
            self.skip();
        }
        Ok(())
    }

    fn scan_plain_scalar(&mut self) -> Result<String> {
        let mut s = String::new();
        let mut leading_break = String::new();
        let mut trailing_breaks = String::new();
        let mut whitespaces = String::new();
        let mut leading_blanks = false;
        let indent = self.indent + 1;
        loop {
            if self.at_document_indicator() || self.b(0) == b'#' {
                break;
            }
            while !self.is_blankz(0) {
                let c = self.b(0);
                if (c == b':' && self.is_blankz(1))
                    || (self.flow_level > 0 && b",?[]{}".contains(&c))
                {
                    break;
                }
                if leading_blanks || !whitespaces.is_empty() {
                    if leading_blanks {
                        fold(&mut s, &mut leading_break, &mut trailing_breaks);
                        leading_blanks = false;
                    } else {
                        s.push_str(&whitespaces);
                        whitespaces.clear();
                    }
                }
                self.read_plain_run(&mut s);
            }
            if !(self.is_blank(0) || self.is_break(0)) {
                break;
            }
            while self.is_blank(0) || self.is_break(0) {
                if self.is_blank(0) {
                    if leading_blanks && (self.mark.col as isize) < indent && self.b(0) == b'\t' {
                        return self.error("found a tab character that violates indentation");
                    }
                    if leading_blanks {
                        self.skip();
                    } else {
                        self.read(&mut whitespaces);
                    }
                } else if leading_blanks {
                    self.read_line(&mut trailing_breaks);
                } else {
                    whitespaces.clear();
                    self.read_line(&mut leading_break);
                    leading_blanks = true;
                }
            }
            if self.flow_level == 0 && (self.mark.col as isize) < indent {
                break;
            }
        }
        if leading_blanks {
            self.simple_key_allowed = true;
        }
        Ok(s)
    }
}

/// Line folding shared by quoted and plain scalars: one `\n` break becomes a space, more
/// breaks are kept, LS and PS are kept.
fn fold(s: &mut String, leading_break: &mut String, trailing_breaks: &mut String) {
    if leading_break.starts_with('\n') {
        if trailing_breaks.is_empty() {
            s.push(' ');
        } else {
            s.push_str(trailing_breaks);
        }
    } else {
        s.push_str(leading_break);
        s.push_str(trailing_breaks);
    }
    leading_break.clear();
    trailing_breaks.clear();
}

/// The first character libyaml's reader refuses (C0 controls except tab and breaks, DEL,
/// C1 controls except NEL, surrogates cannot occur in `str`, U+FFFE/U+FFFF), with its position.
pub fn first_control_character(text: &str, first_line: usize) -> Option<Pos> {
    // Most files are printable ASCII, tabs and breaks: one pass over the bytes settles them.
    // Whole chunks at a time, without an early exit inside one, so that the check vectorises.
    let printable = |b: &u8| matches!(b, b'\t' | b'\n' | b'\r' | 0x20..=0x7e);
    if text
        .as_bytes()
        .chunks(64)
        .all(|chunk| chunk.iter().fold(true, |ok, b| ok & printable(b)))
    {
        return None;
    }
    let mut pos = Pos {
        index: 0,
        line: first_line,
        col: 0,
    };
    let mut prev_cr = false;
    for (i, c) in text.char_indices() {
        let ok = matches!(c, '\t' | '\n' | '\r' | '\u{85}')
            || ('\u{20}'..='\u{7e}').contains(&c)
            || ('\u{a0}'..='\u{d7ff}').contains(&c)
            || ('\u{e000}'..='\u{fffd}').contains(&c)
            || c >= '\u{10000}';
        if !ok {
            pos.index = i;
            return Some(pos);
        }
        match c {
            '\n' if prev_cr => {}
            '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}' => {
                pos.line += 1;
                pos.col = 0;
            }
            _ => pos.col += 1,
        }
        prev_cr = c == '\r';
    }
    None
}

#[cfg(test)]
mod tests {
    use super::first_control_character;
    use crate::yaml::parse_values_map;
    use serde_json::json;

    fn parse(text: &str) -> serde_json::Value {
        serde_json::Value::Object(parse_values_map(text, "test").expect("parses"))
    }

    #[test]
    fn nel_ls_and_ps_break_lines_and_their_lookalikes_do_not() {
        assert_eq!(parse("a: p\u{85}b: q\n"), json!({"a": "p", "b": "q"}));
        assert_eq!(
            parse("a: p\u{2028}b: q\u{2029}c: r"),
            json!({"a": "p", "b": "q", "c": "r"})
        );
        // NBSP (C2 A0) and an ellipsis (E2 80 A6) share a lead byte with NEL and LS/PS.
        assert_eq!(
            parse("a: p\u{a0}q\u{2026}\n"),
            json!({"a": "p\u{a0}q\u{2026}"})
        );
        assert_eq!(parse("# caf\u{e9}\u{85}a: 1 # \u{2026}\n"), json!({"a": 1}));
    }

    #[test]
    fn plain_scalars_read_in_runs_end_where_they_did_one_character_at_a_time() {
        assert_eq!(
            parse("a: b:c d#e http://x.io/p?q=1&r=[2]#f\n"),
            json!({"a": "b:c d#e http://x.io/p?q=1&r=[2]#f"})
        );
        assert_eq!(
            parse("a: x #c\nb: caf\u{e9}-y\n"),
            json!({"a": "x", "b": "caf\u{e9}-y"})
        );
        assert_eq!(
            parse("a: [b,c-d, e]\nf: {g: h,i: j}\n"),
            json!({"a": ["b", "c-d", "e"], "f": {"g": "h", "i": "j"}})
        );
        assert_eq!(parse("a: one\n  two:x\n"), json!({"a": "one two:x"}));
        // Positions after a run still count characters.
        let err = parse_values_map("key: abcdefgh: x\n", "test").unwrap_err();
        assert!(err.to_string().contains("test:1:14"), "{err}");
        let err = parse_values_map("k\u{e9}y: caf\u{e9}\u{e9}x: y\n", "test").unwrap_err();
        assert!(err.to_string().contains("test:1:12"), "{err}");
    }

    #[test]
    fn comments_end_at_any_line_break_or_the_end_of_the_text() {
        assert_eq!(
            parse("# caf\u{e9} \u{a9} \u{2026}\na: 1 # x\u{a0}y\nb: 2 # end"),
            json!({"a": 1, "b": 2})
        );
        assert_eq!(
            parse("a: 1 # x\u{85}b: 2 # y\u{2028}c: 3"),
            json!({"a": 1, "b": 2, "c": 3})
        );
        let err = parse_values_map("# caf\u{e9}\na: 1\n b: 2\n", "test").unwrap_err();
        assert!(err.to_string().contains("test:3:3"), "{err}");
    }

    #[test]
    fn control_characters_are_found_in_ascii_and_in_other_text() {
        assert!(first_control_character("a: b\n\tc: d\r\n", 0).is_none());
        assert!(first_control_character("a: caf\u{e9}\u{85}\n", 0).is_none());
        for (text, index, line) in [
            ("a: b\n\u{1}", 5, 1),
            ("a: \u{7f}", 3, 0),
            ("\u{e9}\n\u{9f}", 3, 1),
        ] {
            let pos = first_control_character(text, 0).expect("found");
            assert_eq!((pos.index, pos.line), (index, line), "{text:?}");
        }
    }
}
