//! The tables `qda bench` prints: aligned text, or Markdown to paste into
//! `docs/PERFORMANCE.md`.

use std::time::Duration;

/// A titled table; the first column is left-aligned, the others right.
#[derive(Debug)]
pub struct Table {
    title: String,
    head: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: impl Into<String>, head: &[&str]) -> Table {
        Table {
            title: title.into(),
            head: head.iter().map(|s| s.to_string()).collect(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn render(&self, markdown: bool) -> String {
        let mut s = String::new();
        if markdown {
            s.push_str(&format!("**{}**\n\n", self.title));
            s.push_str(&format!("| {} |\n", self.head.join(" | ")));
            let rule: Vec<&str> = (0..self.head.len())
                .map(|i| if i == 0 { "---" } else { "---:" })
                .collect();
            s.push_str(&format!("|{}|\n", rule.join("|")));
            for r in &self.rows {
                s.push_str(&format!("| {} |\n", r.join(" | ")));
            }
            return s;
        }
        let cols = self.head.len();
        let width = |i: usize| {
            std::iter::once(&self.head)
                .chain(&self.rows)
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        };
        let widths: Vec<usize> = (0..cols).map(width).collect();
        s.push_str(&self.title);
        s.push('\n');
        for r in std::iter::once(&self.head).chain(&self.rows) {
            let mut line = String::new();
            for (i, w) in widths.iter().enumerate() {
                let c = r.get(i).map_or("", String::as_str);
                let pad = w.saturating_sub(c.chars().count());
                if i == 0 {
                    line.push_str(c);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("  ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(c);
                }
            }
            s.push_str("  ");
            s.push_str(line.trim_end());
            s.push('\n');
        }
        s
    }
}

/// A latency in µs: two decimals below 10 µs, one above.
pub fn us(d: Duration) -> String {
    let v = d.as_secs_f64() * 1e6;
    if v < 10.0 { format!("{v:.2}") } else { format!("{v:.1}") }
}

/// A rate with thousands separators.
pub fn rate(per_sec: f64) -> String {
    let n = per_sec.round().max(0.0) as u64;
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A ratio, or a dash when nothing was measured.
pub fn times(r: Option<f64>) -> String {
    match r {
        Some(r) if r.is_finite() => format!("{r:.2}×"),
        _ => "—".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_well() {
        assert_eq!(us(Duration::from_nanos(180)), "0.18");
        assert_eq!(us(Duration::from_nanos(21_740)), "21.7");
        assert_eq!(rate(1_234_567.4), "1,234,567");
        assert_eq!(rate(999.0), "999");
        assert_eq!(rate(0.0), "0");
        assert_eq!(times(Some(1.234)), "1.23×");
        assert_eq!(times(None), "—");
    }

    #[test]
    fn tables_align_and_render_as_markdown() {
        let mut t = Table::new("t", &["row", "p50 µs"]);
        t.row(vec!["null invoke".into(), "21.7".into()]);
        t.row(vec!["spin".into(), "0.18".into()]);
        let text = t.render(false);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "t");
        assert_eq!(lines[2].chars().count(), lines[3].chars().count(), "{text}");
        let md = t.render(true);
        assert!(
            md.contains("| row | p50 µs |\n|---|---:|\n| null invoke | 21.7 |"),
            "{md}"
        );
    }
}
