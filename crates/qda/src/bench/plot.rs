//! A latency-distribution plot as hand-written SVG (no plotting crate):
//! each series is drawn as its percentile curve, the latency (x, µs, log
//! scale) below which a fraction of the calls finished (y, on a "nines"
//! scale: 0 %, 50 %, 90 %, 99 %, 99.9 %, so the median and the tail are
//! both visible).

use std::fmt::Write as _;
use std::time::Duration;

use super::stats::percentile;

/// One curve of a [`percentile_plot`].
#[derive(Debug, Clone, Copy)]
pub struct Series<'a> {
    /// The legend's text.
    pub name: &'a str,
    /// The latencies, sorted.
    pub sorted: &'a [Duration],
    /// Drawn dashed (a baseline).
    pub dashed: bool,
}

const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];
const W: f64 = 900.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 870.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 420.0;

/// Text for an SVG text node or attribute.
pub fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c if c.is_control() => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// `1 - 10^-y`: the fraction of calls at a height `y` of the nines scale.
fn fraction(y: f64) -> f64 {
    1.0 - 10f64.powf(-y)
}

/// An SVG document: `series` as percentile curves under `title`, with the
/// `caption` lines (the command, the date, the machine) below the axes.
/// Empty series are listed in the legend but draw nothing.
pub fn percentile_plot(title: &str, caption: &[String], series: &[Series<'_>]) -> String {
    let us = |d: Duration| (d.as_secs_f64() * 1e6).max(1e-3);
    let drawn = series.iter().filter(|s| !s.sorted.is_empty());
    let lo = drawn.clone().map(|s| us(s.sorted[0])).fold(f64::INFINITY, f64::min);
    let hi = drawn
        .clone()
        .map(|s| us(s.sorted[s.sorted.len() - 1]))
        .fold(0.0, f64::max);
    let most = drawn.map(|s| s.sorted.len()).max().unwrap_or(0);
    let (lo, hi) = if lo.is_finite() && hi > 0.0 {
        (lo, hi)
    } else {
        (1.0, 10.0)
    };
    let (d0, mut d1) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    if d1 <= d0 {
        d1 = d0 + 1;
    }
    // The nines reached by the largest series, at least 90 %, at most 99.99 %.
    let ymax = (most.max(1) as f64).log10().ceil().clamp(1.0, 4.0);
    let x = |v: f64| LEFT + (v.log10() - f64::from(d0)) / f64::from(d1 - d0) * (RIGHT - LEFT);
    let y = |n: f64| BOTTOM - n / ymax * (BOTTOM - TOP);
    let h = BOTTOM + 70.0 + 16.0 * caption.len() as f64;

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect x="0" y="0" width="{W}" height="{h}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="28" text-anchor="middle" font-size="15">{}</text>"#,
        W / 2.0,
        escape(title)
    );
    // Axes and grid: decades of µs across, nines up.
    let _ = writeln!(s, r##"<g stroke="#ccc" stroke-width="1">"##);
    for d in d0..=d1 {
        let xv = x(10f64.powi(d));
        let _ = writeln!(s, r#"<line x1="{xv:.1}" y1="{TOP}" x2="{xv:.1}" y2="{BOTTOM}"/>"#);
    }
    for n in nines(ymax) {
        let yv = y(n);
        let _ = writeln!(s, r#"<line x1="{LEFT}" y1="{yv:.1}" x2="{RIGHT}" y2="{yv:.1}"/>"#);
    }
    let _ = writeln!(s, "</g>");
    let _ = writeln!(
        s,
        r##"<rect x="{LEFT}" y="{TOP}" width="{}" height="{}" fill="none" stroke="#333"/>"##,
        RIGHT - LEFT,
        BOTTOM - TOP
    );
    for d in d0..=d1 {
        let v = 10f64.powi(d);
        let label = if d < 0 {
            format!("{v:.*}", (-d) as usize)
        } else {
            format!("{v:.0}")
        };
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{}" text-anchor="middle">{label}</text>"#,
            x(v),
            BOTTOM + 18.0
        );
    }
    for n in nines(ymax) {
        let f = fraction(n) * 100.0;
        let decimals = if n < 2.5 { 0 } else { n as usize - 2 };
        let label = format!("{f:.decimals$} %");
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{:.1}" text-anchor="end">{label}</text>"#,
            LEFT - 6.0,
            y(n) + 4.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{}" y="{}" text-anchor="middle">latency per call (µs, log scale)</text>"#,
        (LEFT + RIGHT) / 2.0,
        BOTTOM + 38.0
    );
    let _ = writeln!(
        s,
        r#"<text x="18" y="{}" text-anchor="middle" transform="rotate(-90 18 {})">calls finished within (percentile)</text>"#,
        (TOP + BOTTOM) / 2.0,
        (TOP + BOTTOM) / 2.0
    );
    // The curves: 400 points evenly spaced on the nines scale.
    for (i, se) in series.iter().enumerate() {
        if se.sorted.is_empty() {
            continue;
        }
        let reach = (se.sorted.len() as f64).log10().min(ymax);
        let mut pts = String::new();
        for k in 0..=400 {
            let n = reach * f64::from(k) / 400.0;
            let v = us(percentile(se.sorted, fraction(n) * 100.0));
            let _ = write!(pts, "{:.1},{:.1} ", x(v), y(n));
        }
        let _ = writeln!(
            s,
            r#"<polyline fill="none" stroke="{}" stroke-width="2"{} points="{}"/>"#,
            COLOURS[i % COLOURS.len()],
            if se.dashed { r#" stroke-dasharray="6 4""# } else { "" },
            pts.trim_end()
        );
    }
    // The legend, bottom right, where percentile curves leave room.
    // About 6.5 px per character of 12 px sans-serif, plus the line sample.
    let longest = series
        .iter()
        .map(|se| se.name.chars().count() + se.sorted.len().to_string().len() + 9)
        .max()
        .unwrap_or(0);
    let lw = (longest as f64 * 6.5 + 44.0).min(RIGHT - LEFT - 12.0);
    let lx = RIGHT - lw;
    let ly = BOTTOM - 12.0 - 18.0 * series.len() as f64;
    let _ = writeln!(
        s,
        r##"<rect x="{}" y="{}" width="{}" height="{}" fill="white" fill-opacity="0.9" stroke="#999"/>"##,
        lx - 6.0,
        ly - 14.0,
        lw,
        18.0 * series.len() as f64 + 8.0
    );
    for (i, se) in series.iter().enumerate() {
        let yy = ly + 18.0 * i as f64;
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{:.1}" x2="{}" y2="{:.1}" stroke="{}" stroke-width="2"{}/>"#,
            yy - 4.0,
            lx + 28.0,
            yy - 4.0,
            COLOURS[i % COLOURS.len()],
            if se.dashed { r#" stroke-dasharray="6 4""# } else { "" }
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{yy:.1}">{} ({} calls)</text>"#,
            lx + 36.0,
            escape(se.name),
            se.sorted.len()
        );
    }
    for (i, line) in caption.iter().enumerate() {
        let _ = writeln!(
            s,
            r##"<text x="{LEFT}" y="{:.1}" font-size="11" fill="#444">{}</text>"##,
            BOTTOM + 62.0 + 16.0 * i as f64,
            escape(line)
        );
    }
    s.push_str("</svg>\n");
    s
}

/// The heights of the horizontal grid lines: 0, 50 %, then each nine.
fn nines(ymax: f64) -> Vec<f64> {
    let mut v = vec![0.0, 2f64.log10()];
    let mut n = 1.0;
    while n <= ymax + 1e-9 {
        v.push(n);
        n += 1.0;
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every element opened is closed, in order; the text between has no
    /// stray `<` or `&` (a minimal well-formedness check, no XML crate).
    fn check_well_formed(svg: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = svg;
        while let Some(i) = rest.find('<') {
            let text = &rest[..i];
            for (j, _) in text.match_indices('&') {
                let ent = &text[j..];
                assert!(
                    ["&amp;", "&lt;", "&gt;", "&quot;"].iter().any(|e| ent.starts_with(e)),
                    "a bare & in {text:?}"
                );
            }
            let end = rest[i..].find('>').expect("an unclosed tag") + i;
            let tag = &rest[i + 1..end];
            assert!(!tag.contains('<'), "a < inside a tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name.trim()), "closing {name}");
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().expect("a tag name");
                stack.push(name.to_string());
            }
            rest = &rest[end + 1..];
        }
        assert!(stack.is_empty(), "never closed: {stack:?}");
        assert!(rest.trim().is_empty(), "text after the root: {rest:?}");
    }

    #[test]
    fn the_plot_is_well_formed_and_has_every_series() {
        let us = Duration::from_micros;
        let a: Vec<Duration> = (1..=5000).map(|i| us(10 + i % 97)).collect::<Vec<_>>();
        let mut a = a;
        a.sort();
        let b: Vec<Duration> = (0..300).map(|i| Duration::from_nanos(150 + i)).collect();
        let svg = percentile_plot(
            "null invoke <cdsp> & friends",
            &["qda bench --plot x.svg".into(), "2026-12-01 \"vm\"".into()],
            &[
                Series {
                    name: "sleep mode",
                    sorted: &a,
                    dashed: false,
                },
                Series {
                    name: "spin ping-pong",
                    sorted: &b,
                    dashed: true,
                },
                Series {
                    name: "nothing",
                    sorted: &[],
                    dashed: true,
                },
            ],
        );
        assert!(svg.starts_with("<svg "), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        check_well_formed(&svg);
        for want in [
            "sleep mode (5000 calls)",
            "spin ping-pong (300 calls)",
            "nothing (0 calls)",
            "µs",
            "99.9 %",
            "&lt;cdsp&gt; &amp;",
            "&quot;vm&quot;",
        ] {
            assert!(svg.contains(want), "no {want:?} in the plot");
        }
        assert_eq!(svg.matches("<polyline").count(), 2);
        // The axis spans 0.1 µs to 1000 µs: the labels of those decades.
        for label in [">0.1<", ">1<", ">10<", ">100<", ">1000<"] {
            assert!(svg.contains(label), "no {label}");
        }
    }

    #[test]
    fn a_plot_of_nothing_is_still_a_document() {
        let svg = percentile_plot("empty", &[], &[]);
        check_well_formed(&svg);
    }
}
