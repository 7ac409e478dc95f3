//! The PDF underneath a sheet: the four standard fonts, text measuring and wrapping, and one
//! page's content stream with y measured from the top.
//!
//! Not for where things go on a sheet (the parent module).

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use zeroize::Zeroizing;

use crate::paper::qr::Modules;

/// Quiet zone around the code, in modules (the QR standard asks for 4).
pub(super) const QUIET_ZONE: usize = 4;

/// The four standard fonts a sheet uses.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Font {
    Helvetica,
    HelveticaBold,
    Courier,
    CourierBold,
}

impl Font {
    fn resource(self) -> Name<'static> {
        Name(match self {
            Font::Helvetica => b"F1",
            Font::HelveticaBold => b"F2",
            Font::Courier => b"F3",
            Font::CourierBold => b"F4",
        })
    }
}

/// Helvetica's advance widths (AFM, per 1000 em) for ASCII 32–126.
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// The width of `text` in points; bold is taken as 7 % wider, which is an upper bound
/// that suffices for wrapping.
pub(super) fn text_width(font: Font, size: f32, text: &str) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| match font {
            Font::Courier | Font::CourierBold => 600,
            _ => {
                let code = c as u32;
                if (32..127).contains(&code) {
                    u32::from(HELVETICA_WIDTHS[(code - 32) as usize])
                } else {
                    1000
                }
            }
        })
        .sum();
    let bold = if font == Font::HelveticaBold {
        1.07
    } else {
        1.0
    };
    units as f32 * size / 1000.0 * bold
}

/// Wraps `text` at spaces into at most `max_lines` lines of at most `width` points; the last
/// line is cut with "..." if the text is longer.
pub(super) fn wrap(font: Font, size: f32, text: &str, width: f32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if text_width(font, size, &candidate) <= width || current.is_empty() {
            current = candidate;
        } else {
            lines.push(std::mem::replace(&mut current, word.to_string()));
        }
    }
    lines.push(current);
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            while !last.is_empty() && text_width(font, size, &format!("{last}...")) > width {
                last.pop();
            }
            last.push_str("...");
        }
    }
    for line in &mut lines {
        while text_width(font, size, line) > width && !line.is_empty() {
            line.pop();
        }
    }
    lines
}

/// `text` in WinAnsiEncoding; characters it lacks become `?`.
fn win_ansi(text: &str) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(
        text.chars()
            .map(|c| match c {
                ' '..='~' => c as u8,
                '\u{a0}'..='\u{ff}' => c as u32 as u8,
                '\u{2014}' => 0x97,
                '\u{2013}' => 0x96,
                '\u{2019}' => 0x92,
                '\u{201c}' => 0x93,
                '\u{201d}' => 0x94,
                '\u{2022}' => 0x95,
                '\u{2026}' => 0x85,
                _ => b'?',
            })
            .collect(),
    )
}

/// One page's content stream, with y measured from the top of the page.
pub(super) struct Page {
    content: Content,
    height: f32,
}

impl Page {
    pub(super) fn new(height: f32) -> Self {
        Self {
            content: Content::new(),
            height,
        }
    }

    /// Text with its baseline at `y` from the top, in grey level `gray` (0 black).
    pub(super) fn text(&mut self, font: Font, size: f32, x: f32, y: f32, gray: f32, text: &str) {
        let encoded = win_ansi(text);
        self.content.set_fill_gray(gray);
        self.content
            .begin_text()
            .set_font(font.resource(), size)
            .next_line(x, self.height - y)
            .show(Str(&encoded))
            .end_text();
        self.content.set_fill_gray(0.0);
    }

    /// A horizontal line at `y`.
    pub(super) fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32, gray: f32) {
        self.content
            .set_stroke_gray(gray)
            .set_line_width(width)
            .move_to(x1, self.height - y)
            .line_to(x2, self.height - y)
            .stroke();
    }

    /// A rectangle outline whose top-left corner is at (`x`, `y`).
    pub(super) fn boxed(&mut self, x: f32, y: f32, width: f32, height: f32) {
        self.content
            .set_stroke_gray(0.25)
            .set_line_width(0.6)
            .rect(x, self.height - y - height, width, height)
            .stroke();
    }

    /// The code's dark modules as filled rectangles (runs merged per row), the quiet zone
    /// left white; (`x`, `y`) is the top-left corner of the quiet zone.
    pub(super) fn qr(&mut self, modules: &Modules, x: f32, y: f32, module: f32) {
        let origin_x = x + QUIET_ZONE as f32 * module;
        let origin_y = y + QUIET_ZONE as f32 * module;
        self.content.set_fill_gray(0.0);
        for row in 0..modules.width {
            let mut column = 0;
            while column < modules.width {
                if !modules.is_dark(column, row) {
                    column += 1;
                    continue;
                }
                let start = column;
                while column < modules.width && modules.is_dark(column, row) {
                    column += 1;
                }
                let top = origin_y + row as f32 * module;
                self.content.rect(
                    origin_x + start as f32 * module,
                    self.height - top - module,
                    (column - start) as f32 * module,
                    module,
                );
            }
        }
        self.content.fill_nonzero();
    }

    pub(super) fn finish(self, width: f32, height: f32, title: &str) -> Zeroizing<Vec<u8>> {
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let page = Ref::new(3);
        let contents = Ref::new(4);
        let fonts = [
            (Font::Helvetica, Ref::new(5), b"Helvetica".as_slice()),
            (Font::HelveticaBold, Ref::new(6), b"Helvetica-Bold"),
            (Font::Courier, Ref::new(7), b"Courier"),
            (Font::CourierBold, Ref::new(8), b"Courier-Bold"),
        ];
        let info = Ref::new(9);
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids([page]).count(1);
        {
            let mut writer = pdf.page(page);
            writer
                .parent(tree)
                .media_box(Rect::new(0.0, 0.0, width, height))
                .contents(contents);
            let mut resources = writer.resources();
            let mut dict = resources.fonts();
            for (font, id, _) in &fonts {
                dict.pair(font.resource(), *id);
            }
            dict.finish();
            resources.finish();
            writer.finish();
        }
        for (_, id, base) in &fonts {
            pdf.type1_font(*id)
                .base_font(Name(base))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.document_info(info)
            .title(TextStr(title))
            .creator(TextStr("custody"));
        let stream = Zeroizing::new(self.content.finish().to_vec());
        pdf.stream(contents, &stream);
        Zeroizing::new(pdf.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wrapping respects the width and the line limit, cutting with "...".
    #[test]
    fn wrapping() {
        let lines = wrap(Font::Helvetica, 10.0, "aaaa bbbb cccc dddd eeee", 60.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with("..."));
        for line in &lines {
            assert!(text_width(Font::Helvetica, 10.0, line) <= 60.0);
        }
        assert_eq!(wrap(Font::Courier, 10.0, "short", 100.0, 2), vec!["short"]);
    }

    /// WinAnsi: ASCII as is, the em dash at 0x97, anything else a question mark.
    #[test]
    fn win_ansi_encoding() {
        assert_eq!(
            win_ansi("A\u{2014}\u{e9}\u{4e2d}").as_slice(),
            &[b'A', 0x97, 0xe9, b'?']
        );
    }
}
