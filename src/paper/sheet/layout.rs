//! Where things go on a sheet: the steps every kind of sheet (custody-v1 and SLIP-39) takes
//! from top to bottom — the header band and title, the QR code beside the set's facts, the
//! recovery steps and the footer — so that each kind supplies only what it says differently.
//!
//! Not for the PDF underneath ([`super::pdf`]) or what sits between the facts and the recovery
//! steps (the share text, the words), which each kind of sheet draws itself.

use zeroize::Zeroizing;

use super::pdf::{text_width, wrap, Font, Page, QUIET_ZONE};
use super::{PaperSize, MARGIN, MODULE_POINTS, SHEET_FORMAT};
use crate::fingerprint::Fingerprint;
use crate::paper::qr::Modules;
use crate::share::ShareHeader;

/// What a kind of sheet calls itself in its header band, footer and PDF title.
pub(super) struct Kind {
    /// The header band's first words, before "SECRET: KEEP SEALED": `CUSTODY KEY SHARE`.
    pub banner: &'static str,
    /// Follows [`SHEET_FORMAT`] in the format tag of the header band and footer: ` slip39`.
    pub format_variant: &'static str,
    /// What the PDF title calls the share, after "custody": `key share`.
    pub title: &'static str,
    /// Where the footer sends a reader for the format: `docs/slip39.md`.
    pub docs: &'static str,
}

/// The QR code as a sheet shows it.
pub(super) struct QrCode<'m> {
    /// The code's modules.
    pub modules: &'m Modules,
    /// How big it is drawn.
    pub size: QrSize,
    /// The line below it that says what it holds.
    pub caption: String,
}

/// How big the QR code is drawn.
pub(super) enum QrSize {
    /// Modules of [`MODULE_POINTS`], as wide as the code needs.
    Natural,
    /// Modules of [`MODULE_POINTS`] or smaller, so that the code is no wider than this.
    AtMost(f32),
    /// Exactly this wide, whatever the module size.
    Exactly(f32),
}

impl QrSize {
    /// The module's side and the code's side (quiet zone included) for a code `across`
    /// modules wide.
    fn module_and_side(self, across: f32) -> (f32, f32) {
        match self {
            QrSize::Natural => (MODULE_POINTS, across * MODULE_POINTS),
            QrSize::AtMost(side) => {
                let module = MODULE_POINTS.min(side / across);
                (module, across * module)
            }
            QrSize::Exactly(side) => (side / across, side),
        }
    }
}

/// One of the set's facts beside the QR code: a small grey name over lines in `font`.
pub(super) struct Fact {
    /// The name, printed in capitals.
    pub name: &'static str,
    /// The value, one entry a line.
    pub lines: Vec<String>,
    /// The value's font.
    pub font: Font,
    /// The value's size in points.
    pub size: f32,
}

impl Fact {
    /// A fact whose value is one line.
    pub fn line(name: &'static str, value: String, font: Font, size: f32) -> Self {
        let lines = vec![value];
        Self {
            name,
            lines,
            font,
            size,
        }
    }
}

/// The key fingerprint's two facts: in hex on two lines, then as words four to a line.
pub(super) fn fingerprint_facts(fingerprint: &Fingerprint, hex_size: f32) -> [Fact; 2] {
    let hex = fingerprint.to_string();
    let (first, second) = hex.split_at(hex.len().min(20));
    let words = fingerprint.words();
    let words: Vec<&str> = words.split(' ').collect();
    [
        Fact {
            name: "Key fingerprint",
            lines: vec![first.trim_end_matches('-').to_string(), second.to_string()],
            font: Font::Courier,
            size: hex_size,
        },
        Fact {
            name: "Fingerprint, spoken",
            lines: words.chunks(4).map(|chunk| chunk.join(" ")).collect(),
            font: Font::Helvetica,
            size: 10.0,
        },
    ]
}

/// The room left below each fact, and below the QR code and facts as a whole, in points.
pub(super) struct FactSpacing {
    /// After each fact.
    pub between: f32,
    /// After the last fact, before what follows.
    pub below: f32,
}

/// One sheet being laid out, with y measured from the top of the page.
pub(super) struct Sheet<'a> {
    /// The page's content, for what a kind of sheet draws itself.
    pub page: Page,
    /// The left edge of the content.
    pub left: f32,
    /// The right edge of the content.
    pub right: f32,
    width: f32,
    height: f32,
    kind: &'static Kind,
    /// The format tag: [`SHEET_FORMAT`] and the kind's variant.
    format: String,
    header: &'a ShareHeader,
    label: &'a str,
}

impl<'a> Sheet<'a> {
    /// An empty page of `size` for a sheet of `kind` showing the share `header` describes,
    /// from the set labelled `label` (which may be empty).
    pub fn new(
        size: PaperSize,
        kind: &'static Kind,
        header: &'a ShareHeader,
        label: &'a str,
    ) -> Self {
        let (width, height) = size.points();
        Self {
            page: Page::new(height),
            left: MARGIN,
            right: width - MARGIN,
            width,
            height,
            kind,
            format: format!("{SHEET_FORMAT}{}", kind.format_variant),
            header,
            label,
        }
    }

    /// The width between the margins.
    pub fn content_width(&self) -> f32 {
        self.right - self.left
    }

    /// The header band, then the label and which share this is; returns the y of the rule
    /// below them.
    pub fn heading(&mut self) -> f32 {
        let (left, right) = (self.left, self.right);
        let header = self.header;
        let mut y = MARGIN + 10.0;
        let banner = format!("{}  \u{2014}  SECRET: KEEP SEALED", self.kind.banner);
        self.page
            .text(Font::HelveticaBold, 9.0, left, y, 0.35, &banner);
        let tag = format!("{}   set {}", self.format, header.set_id);
        let tag_x = right - text_width(Font::Helvetica, 9.0, &tag);
        self.page.text(Font::Helvetica, 9.0, tag_x, y, 0.35, &tag);
        y += 8.0;
        self.page.rule(left, right, y, 1.2, 0.0);

        y += 30.0;
        let label = match self.label.trim() {
            "" => "(unlabelled key)",
            label => label,
        };
        for line in wrap(Font::HelveticaBold, 20.0, label, self.content_width(), 2) {
            self.page
                .text(Font::HelveticaBold, 20.0, left, y, 0.0, &line);
            y += 25.0;
        }
        y += 2.0;
        let which = format!(
            "Share {} of {}  \u{2014}  {} needed to recover the key",
            header.index, header.count, header.threshold
        );
        self.page.text(Font::Helvetica, 16.0, left, y, 0.0, &which);
        y += 14.0;
        self.page.rule(left, right, y, 0.5, 0.6);
        y
    }

    /// The QR code at the right, captioned, and the facts at the left, starting below `y`;
    /// returns the y below both.
    pub fn qr_beside_facts(
        &mut self,
        y: f32,
        qr: QrCode<'_>,
        facts: &[Fact],
        spacing: FactSpacing,
    ) -> f32 {
        let top = y + 16.0;
        let across = (qr.modules.width + 2 * QUIET_ZONE) as f32;
        let (module, qr_side) = qr.size.module_and_side(across);
        let qr_left = self.right - qr_side;
        self.page.qr(qr.modules, qr_left, top, module);
        let caption_x = qr_left + module * QUIET_ZONE as f32;
        let caption_y = top + qr_side + 2.0;
        self.page.text(
            Font::Helvetica,
            7.5,
            caption_x,
            caption_y,
            0.35,
            &qr.caption,
        );

        let mut fy = top + 14.0;
        for fact in facts {
            let name = fact.name.to_uppercase();
            self.page
                .text(Font::HelveticaBold, 7.5, self.left, fy, 0.35, &name);
            fy += fact.size + 4.0;
            for line in &fact.lines {
                self.page
                    .text(fact.font, fact.size, self.left, fy, 0.0, line);
                fy += fact.size + 3.0;
            }
            fy += spacing.between;
        }
        (top + qr_side + 30.0).max(fy + spacing.below)
    }

    /// "To recover the key" at `y` and the numbered `steps` below it; returns the y below them.
    pub fn recovery_steps(&mut self, mut y: f32, steps: &[String]) -> f32 {
        let heading = "To recover the key";
        self.page
            .text(Font::HelveticaBold, 10.0, self.left, y, 0.0, heading);
        y += 14.0;
        for step in steps {
            for line in wrap(Font::Helvetica, 9.0, step, self.content_width(), 2) {
                self.page
                    .text(Font::Helvetica, 9.0, self.left, y, 0.0, &line);
                y += 12.0;
            }
        }
        y
    }

    /// Draws the footer and returns the finished PDF.
    pub fn finish(mut self) -> Zeroizing<Vec<u8>> {
        let header = self.header;
        let footer_y = self.height - MARGIN + 14.0;
        self.page
            .rule(self.left, self.right, footer_y - 12.0, 0.5, 0.6);
        let footer = format!(
            "{}  \u{b7}  set {}  \u{b7}  share {} of {}  \u{b7}  {}  \u{b7}  do not copy or photograph; scan only to recover",
            self.format, header.set_id, header.index, header.count, self.kind.docs
        );
        self.page
            .text(Font::Helvetica, 7.5, self.left, footer_y, 0.35, &footer);
        let title = format!(
            "custody {} {} of {}, set {}",
            self.kind.title, header.index, header.count, header.set_id
        );
        self.page.finish(self.width, self.height, &title)
    }
}
