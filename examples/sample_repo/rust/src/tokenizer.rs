//! Splits a line of inline Markdown into text, emphasis and code tokens.

/// A piece of inline Markdown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Token {
    Text(String),
    Strong(String),
    Emphasis(String),
    Code(String),
}

/// Anything that can be written out as an HTML fragment.
pub trait Render {
    /// Produce the HTML for this value.
    fn render(&self) -> String;

    /// Same as `render`, but wrapped in the given element.
    fn render_in(&self, tag: &str) -> String {
        format!("<{tag}>{}</{tag}>", self.render())
    }
}

/// Replace the three characters that would otherwise be read as markup.
pub fn escape_html(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    for ch in raw.chars() {
        match ch {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            other => out.push(other),
        }
    }
    out
}

impl Render for Token {
    fn render(&self) -> String {
        match self {
            Token::Text(t) => escape_html(t),
            Token::Strong(t) => format!("<strong>{}</strong>", escape_html(t)),
            Token::Emphasis(t) => format!("<em>{}</em>", escape_html(t)),
            Token::Code(t) => format!("<code>{}</code>", escape_html(t)),
        }
    }
}

/// Walks over the characters of a line and yields tokens one at a time.
pub struct Tokenizer<'a> {
    source: &'a str,
    pos: usize,
}

impl<'a> Tokenizer<'a> {
    /// Start reading at the beginning of `source`.
    pub fn new(source: &'a str) -> Self {
        Tokenizer { source, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.source[self.pos..]
    }

    /// If the remaining input starts with `open`, find the matching `close` and return
    /// the text in between, advancing past the closing marker. Unclosed markers are
    /// left alone so they can be treated as plain text.
    fn take_delimited(&mut self, open: &str, close: &str) -> Option<String> {
        let rest = self.rest();
        if !rest.starts_with(open) {
            return None;
        }
        let body = &rest[open.len()..];
        let end = body.find(close)?;
        if end == 0 {
            return None;
        }
        self.pos += open.len() + end + close.len();
        Some(body[..end].to_string())
    }

    /// Consume plain text up to the next character that could begin a marker.
    fn take_text(&mut self) -> String {
        let rest = self.rest();
        let stop = rest
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '*' || *c == '`')
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        self.pos += stop;
        rest[..stop].to_string()
    }
}

impl<'a> Iterator for Tokenizer<'a> {
    type Item = Token;

    fn next(&mut self) -> Option<Token> {
        if self.pos >= self.source.len() {
            return None;
        }
        if let Some(code) = self.take_delimited("`", "`") {
            return Some(Token::Code(code));
        }
        if let Some(strong) = self.take_delimited("**", "**") {
            return Some(Token::Strong(strong));
        }
        if let Some(em) = self.take_delimited("*", "*") {
            return Some(Token::Emphasis(em));
        }
        Some(Token::Text(self.take_text()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_markers_from_text() {
        let tokens: Vec<Token> = Tokenizer::new("x *y* z").collect();
        assert_eq!(
            tokens,
            vec![
                Token::Text("x ".into()),
                Token::Emphasis("y".into()),
                Token::Text(" z".into()),
            ]
        );
    }
}
