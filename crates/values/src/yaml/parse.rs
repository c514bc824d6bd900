//! Events from tokens, with go-yaml v2's (libyaml's) grammar: the same states, the same
//! implicit documents, empty scalars, indentless sequences and flow-sequence pairs, the same
//! `%YAML`/`%TAG` rules and the same problem phrases.

use std::collections::HashMap;

use super::scan::{Pos, Problem, Result, Scanner, Style, Tok, Token};

/// The core schema's tag prefix (`!!x` is `tag:yaml.org,2002:x`).
pub const CORE: &str = "tag:yaml.org,2002:";

/// One parse event.
#[derive(Debug, Clone, PartialEq)]
pub enum Ev {
    StreamStart,
    StreamEnd,
    DocStart,
    DocEnd,
    Alias(String),
    Scalar {
        value: String,
        style: Style,
        anchor: Option<String>,
        /// The resolved tag (`tag:yaml.org,2002:int`, `!foo`, `!`), if any.
        tag: Option<String>,
        /// libyaml's `plain_implicit`: plain and untagged, or tagged `!`.
        implicit: bool,
    },
    SeqStart {
        anchor: Option<String>,
    },
    SeqEnd,
    MapStart {
        anchor: Option<String>,
    },
    MapEnd,
}

/// An event and where it starts.
#[derive(Debug, Clone)]
pub struct Event {
    pub ev: Ev,
    pub start: Pos,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    StreamStart,
    ImplicitDocumentStart,
    DocumentStart,
    DocumentContent,
    DocumentEnd,
    BlockNode,
    BlockSequenceFirstEntry,
    BlockSequenceEntry,
    IndentlessSequenceEntry,
    BlockMappingFirstKey,
    BlockMappingKey,
    BlockMappingValue,
    FlowSequenceFirstEntry,
    FlowSequenceEntry,
    FlowSequenceEntryMappingKey,
    FlowSequenceEntryMappingValue,
    FlowSequenceEntryMappingEnd,
    FlowMappingFirstKey,
    FlowMappingKey,
    FlowMappingValue,
    FlowMappingEmptyValue,
    End,
}

/// A pull parser over one YAML text.
pub struct Parser<'a> {
    scanner: Scanner<'a>,
    state: State,
    states: Vec<State>,
    tags: HashMap<String, String>,
}

fn err<T>(pos: Pos, problem: &str) -> Result<T> {
    Err(Problem {
        pos,
        problem: problem.to_string(),
    })
}

impl<'a> Parser<'a> {
    /// A parser over `text`, whose first line is line `first_line` (0-based) of its file.
    pub fn new(text: &'a str, first_line: usize) -> Self {
        Parser {
            scanner: Scanner::new(text, first_line),
            state: State::StreamStart,
            states: Vec::new(),
            tags: HashMap::new(),
        }
    }

    fn peek(&mut self) -> Result<&Token> {
        self.scanner.peek()
    }

    fn peek_tok(&mut self) -> Result<(Tok, Pos)> {
        let t = self.scanner.peek()?;
        // Scalars are cloned only when consumed; callers that need the value use `next`.
        let tok = match &t.tok {
            Tok::Scalar(..) => Tok::Scalar(String::new(), Style::Plain),
            other => other.clone(),
        };
        Ok((tok, t.start))
    }

    fn skip(&mut self) -> Result<Token> {
        self.scanner.next()
    }

    fn pop_state(&mut self) {
        self.state = self.states.pop().unwrap_or(State::End);
    }

    fn ev(ev: Ev, start: Pos) -> Result<Event> {
        Ok(Event { ev, start })
    }

    fn empty(start: Pos) -> Result<Event> {
        Self::ev(
            Ev::Scalar {
                value: String::new(),
                style: Style::Plain,
                anchor: None,
                tag: None,
                implicit: true,
            },
            start,
        )
    }

    /// The next event (after `StreamEnd`, `StreamEnd` again).
    pub fn next(&mut self) -> Result<Event> {
        match self.state {
            State::End => {
                let pos = self.peek().map(|t| t.start).unwrap_or_default();
                Self::ev(Ev::StreamEnd, pos)
            }
            State::StreamStart => {
                let t = self.skip()?;
                if t.tok != Tok::StreamStart {
                    return err(t.start, "did not find expected <stream-start>");
                }
                self.state = State::ImplicitDocumentStart;
                Self::ev(Ev::StreamStart, t.start)
            }
            State::ImplicitDocumentStart => self.document_start(true),
            State::DocumentStart => self.document_start(false),
            State::DocumentContent => {
                let (tok, pos) = self.peek_tok()?;
                if matches!(
                    tok,
                    Tok::Version(..)
                        | Tok::TagDirective(..)
                        | Tok::DocStart
                        | Tok::DocEnd
                        | Tok::StreamEnd
                ) {
                    self.pop_state();
                    Self::empty(pos)
                } else {
                    self.node(true, false)
                }
            }
            State::DocumentEnd => {
                let (tok, pos) = self.peek_tok()?;
                if tok == Tok::DocEnd {
                    self.skip()?;
                }
                self.tags.clear();
                self.state = State::DocumentStart;
                Self::ev(Ev::DocEnd, pos)
            }
            State::BlockNode => self.node(true, false),
            State::BlockSequenceFirstEntry => {
                self.skip()?;
                self.block_sequence_entry()
            }
            State::BlockSequenceEntry => self.block_sequence_entry(),
            State::IndentlessSequenceEntry => self.indentless_sequence_entry(),
            State::BlockMappingFirstKey => {
                self.skip()?;
                self.block_mapping_key()
            }
            State::BlockMappingKey => self.block_mapping_key(),
            State::BlockMappingValue => self.block_mapping_value(),
            State::FlowSequenceFirstEntry => {
                self.skip()?;
                self.flow_sequence_entry(true)
            }
            State::FlowSequenceEntry => self.flow_sequence_entry(false),
            State::FlowSequenceEntryMappingKey => self.flow_sequence_entry_mapping_key(),
            State::FlowSequenceEntryMappingValue => self.flow_sequence_entry_mapping_value(),
            State::FlowSequenceEntryMappingEnd => {
                let (_, pos) = self.peek_tok()?;
                self.state = State::FlowSequenceEntry;
                Self::ev(Ev::MapEnd, pos)
            }
            State::FlowMappingFirstKey => {
                self.skip()?;
                self.flow_mapping_key(true)
            }
            State::FlowMappingKey => self.flow_mapping_key(false),
            State::FlowMappingValue => self.flow_mapping_value(false),
            State::FlowMappingEmptyValue => self.flow_mapping_value(true),
        }
    }

    fn document_start(&mut self, implicit: bool) -> Result<Event> {
        let (mut tok, mut pos) = self.peek_tok()?;
        if !implicit {
            while tok == Tok::DocEnd {
                self.skip()?;
                (tok, pos) = self.peek_tok()?;
            }
        }
        let directive_or_start = matches!(
            tok,
            Tok::Version(..) | Tok::TagDirective(..) | Tok::DocStart | Tok::StreamEnd
        );
        if implicit && !directive_or_start {
            self.states.push(State::DocumentEnd);
            self.state = State::BlockNode;
            return Self::ev(Ev::DocStart, pos);
        }
        if tok == Tok::StreamEnd {
            self.skip()?;
            self.state = State::End;
            return Self::ev(Ev::StreamEnd, pos);
        }
        let start = pos;
        self.directives()?;
        let (tok, pos) = self.peek_tok()?;
        if tok != Tok::DocStart {
            return err(pos, "did not find expected <document start>");
        }
        self.skip()?;
        self.states.push(State::DocumentEnd);
        self.state = State::DocumentContent;
        Self::ev(Ev::DocStart, start)
    }

    fn directives(&mut self) -> Result<()> {
        let mut version_seen = false;
        loop {
            let (tok, pos) = self.peek_tok()?;
            match tok {
                Tok::Version(major, minor) => {
                    if version_seen {
                        return err(pos, "found duplicate %YAML directive");
                    }
                    if major != 1 || minor != 1 {
                        return err(pos, "found incompatible YAML document");
                    }
                    version_seen = true;
                }
                Tok::TagDirective(handle, prefix) => {
                    if self.tags.contains_key(&handle) {
                        return err(pos, "found duplicate %TAG directive");
                    }
                    self.tags.insert(handle, prefix);
                }
                _ => return Ok(()),
            }
            self.skip()?;
        }
    }

    fn resolve_tag(&self, handle: &str, suffix: &str, at: Pos) -> Result<String> {
        if handle.is_empty() {
            return Ok(suffix.to_string());
        }
        if let Some(prefix) = self.tags.get(handle) {
            return Ok(format!("{prefix}{suffix}"));
        }
        match handle {
            "!" => Ok(format!("!{suffix}")),
            "!!" => Ok(format!("{CORE}{suffix}")),
            _ => err(at, "found undefined tag handle"),
        }
    }

    fn node(&mut self, block: bool, indentless: bool) -> Result<Event> {
        let (tok, start) = self.peek_tok()?;
        if let Tok::Alias(_) = tok {
            let Tok::Alias(name) = self.skip()?.tok else {
                unreachable!("peeked an alias")
            };
            self.pop_state();
            return Self::ev(Ev::Alias(name), start);
        }
        let mut anchor = None;
        let mut tag_parts: Option<(String, String, Pos)> = None;
        for _ in 0..2 {
            let (tok, pos) = self.peek_tok()?;
            match tok {
                Tok::Anchor(_) if anchor.is_none() => {
                    if let Tok::Anchor(a) = self.skip()?.tok {
                        anchor = Some(a);
                    }
                }
                Tok::Tag(..) if tag_parts.is_none() => {
                    if let Tok::Tag(h, s) = self.skip()?.tok {
                        tag_parts = Some((h, s, pos));
                    }
                }
                _ => break,
            }
        }
        let tag = match tag_parts {
            Some((h, s, at)) => Some(self.resolve_tag(&h, &s, at)?),
            None => None,
        };
        let (tok, pos) = self.peek_tok()?;
        let start = if anchor.is_some() || tag.is_some() {
            start
        } else {
            pos
        };
        if indentless && tok == Tok::BlockEntry {
            self.state = State::IndentlessSequenceEntry;
            return Self::ev(Ev::SeqStart { anchor }, start);
        }
        match tok {
            Tok::Scalar(..) => {
                let Tok::Scalar(value, style) = self.skip()?.tok else {
                    unreachable!("peeked a scalar")
                };
                let implicit =
                    (tag.is_none() && style == Style::Plain) || tag.as_deref() == Some("!");
                self.pop_state();
                Self::ev(
                    Ev::Scalar {
                        value,
                        style,
                        anchor,
                        tag,
                        implicit,
                    },
                    start,
                )
            }
            Tok::FlowSeqStart => {
                self.state = State::FlowSequenceFirstEntry;
                Self::ev(Ev::SeqStart { anchor }, start)
            }
            Tok::FlowMapStart => {
                self.state = State::FlowMappingFirstKey;
                Self::ev(Ev::MapStart { anchor }, start)
            }
            Tok::BlockSeqStart if block => {
                self.state = State::BlockSequenceFirstEntry;
                Self::ev(Ev::SeqStart { anchor }, start)
            }
            Tok::BlockMapStart if block => {
                self.state = State::BlockMappingFirstKey;
                Self::ev(Ev::MapStart { anchor }, start)
            }
            _ if anchor.is_some() || tag.is_some() => {
                self.pop_state();
                let implicit = tag.is_none() || tag.as_deref() == Some("!");
                Self::ev(
                    Ev::Scalar {
                        value: String::new(),
                        style: Style::Plain,
                        anchor,
                        tag,
                        implicit,
                    },
                    start,
                )
            }
            _ => err(pos, "did not find expected node content"),
        }
    }

    fn block_sequence_entry(&mut self) -> Result<Event> {
        let (tok, pos) = self.peek_tok()?;
        match tok {
            Tok::BlockEntry => {
                self.skip()?;
                let (tok, pos) = self.peek_tok()?;
                if matches!(tok, Tok::BlockEntry | Tok::BlockEnd) {
                    self.state = State::BlockSequenceEntry;
                    Self::empty(pos)
                } else {
                    self.states.push(State::BlockSequenceEntry);
                    self.node(true, false)
                }
            }
            Tok::BlockEnd => {
                self.pop_state();
                self.skip()?;
                Self::ev(Ev::SeqEnd, pos)
            }
            _ => err(pos, "did not find expected '-' indicator"),
        }
    }

    fn indentless_sequence_entry(&mut self) -> Result<Event> {
        let (tok, pos) = self.peek_tok()?;
        if tok != Tok::BlockEntry {
            self.pop_state();
            return Self::ev(Ev::SeqEnd, pos);
        }
        self.skip()?;
        let (tok, pos) = self.peek_tok()?;
        if matches!(tok, Tok::BlockEntry | Tok::Key | Tok::Value | Tok::BlockEnd) {
            self.state = State::IndentlessSequenceEntry;
            Self::empty(pos)
        } else {
            self.states.push(State::IndentlessSequenceEntry);
            self.node(true, false)
        }
    }

    fn block_mapping_key(&mut self) -> Result<Event> {
        let (tok, pos) = self.peek_tok()?;
        match tok {
            Tok::Key => {
                self.skip()?;
                let (tok, pos) = self.peek_tok()?;
                if matches!(tok, Tok::Key | Tok::Value | Tok::BlockEnd) {
                    self.state = State::BlockMappingValue;
                    Self::empty(pos)
                } else {
                    self.states.push(State::BlockMappingValue);
                    self.node(true, true)
                }
            }
            Tok::BlockEnd => {
                self.pop_state();
                self.skip()?;
                Self::ev(Ev::MapEnd, pos)
            }
            _ => err(
                pos,
                "did not find expected key (is this line indented like the keys of its map?)",
            ),
        }
    }

    fn block_mapping_value(&mut self) -> Result<Event> {
        let (tok, pos) = self.peek_tok()?;
        if tok != Tok::Value {
            self.state = State::BlockMappingKey;
            return Self::empty(pos);
        }
        self.skip()?;
        let (tok, pos) = self.peek_tok()?;
        if matches!(tok, Tok::Key | Tok::Value | Tok::BlockEnd) {
            self.state = State::BlockMappingKey;
            Self::empty(pos)
        } else {
            self.states.push(State::BlockMappingKey);
            self.node(true, true)
        }
    }

    fn flow_sequence_entry(&mut self, first: bool) -> Result<Event> {
        let (mut tok, mut pos) = self.peek_tok()?;
        if tok != Tok::FlowSeqEnd {
            if !first {
                if tok != Tok::FlowEntry {
                    return err(pos, "did not find expected ',' or ']'");
                }
                self.skip()?;
                (tok, pos) = self.peek_tok()?;
            }
            if tok == Tok::Key {
                self.state = State::FlowSequenceEntryMappingKey;
                self.skip()?;
                return Self::ev(Ev::MapStart { anchor: None }, pos);
            }
            if tok != Tok::FlowSeqEnd {
                self.states.push(State::FlowSequenceEntry);
                return self.node(false, false);
            }
        }
        self.pop_state();
        self.skip()?;
        Self::ev(Ev::SeqEnd, pos)
    }

    fn flow_sequence_entry_mapping_key(&mut self) -> Result<Event> {
        let (tok, pos) = self.peek_tok()?;
        if !matches!(tok, Tok::Value | Tok::FlowEntry | Tok::FlowSeqEnd) {
            self.states.push(State::FlowSequenceEntryMappingValue);
            return self.node(false, false);
        }
        // go-yaml v2 skips the token here (a `:` right after `[`'s `?` is dropped).
        self.skip()?;
        self.state = State::FlowSequenceEntryMappingValue;
        Self::empty(pos)
    }

    fn flow_sequence_entry_mapping_value(&mut self) -> Result<Event> {
        let (tok, pos) = self.peek_tok()?;
        if tok == Tok::Value {
            self.skip()?;
            let (tok, pos) = self.peek_tok()?;
            if !matches!(tok, Tok::FlowEntry | Tok::FlowSeqEnd) {
                self.states.push(State::FlowSequenceEntryMappingEnd);
                return self.node(false, false);
            }
            self.state = State::FlowSequenceEntryMappingEnd;
            return Self::empty(pos);
        }
        self.state = State::FlowSequenceEntryMappingEnd;
        Self::empty(pos)
    }

    fn flow_mapping_key(&mut self, first: bool) -> Result<Event> {
        let (mut tok, mut pos) = self.peek_tok()?;
        if tok != Tok::FlowMapEnd {
            if !first {
                if tok != Tok::FlowEntry {
                    return err(pos, "did not find expected ',' or '}'");
                }
                self.skip()?;
                (tok, pos) = self.peek_tok()?;
            }
            if tok == Tok::Key {
                self.skip()?;
                let (tok, pos) = self.peek_tok()?;
                if !matches!(tok, Tok::Value | Tok::FlowEntry | Tok::FlowMapEnd) {
                    self.states.push(State::FlowMappingValue);
                    return self.node(false, false);
                }
                self.state = State::FlowMappingValue;
                return Self::empty(pos);
            }
            if tok != Tok::FlowMapEnd {
                self.states.push(State::FlowMappingEmptyValue);
                return self.node(false, false);
            }
        }
        self.pop_state();
        self.skip()?;
        Self::ev(Ev::MapEnd, pos)
    }

    fn flow_mapping_value(&mut self, empty: bool) -> Result<Event> {
        let (tok, pos) = self.peek_tok()?;
        if empty {
            self.state = State::FlowMappingKey;
            return Self::empty(pos);
        }
        if tok == Tok::Value {
            self.skip()?;
            let (tok, pos) = self.peek_tok()?;
            if !matches!(tok, Tok::FlowEntry | Tok::FlowMapEnd) {
                self.states.push(State::FlowMappingKey);
                return self.node(false, false);
            }
            self.state = State::FlowMappingKey;
            return Self::empty(pos);
        }
        self.state = State::FlowMappingKey;
        Self::empty(pos)
    }
}
