use super::*;
use BlockKind::*;

fn plain(t: &str) -> Span {
    Span { text: t.into(), ..Span::default() }
}
fn link(t: &str, url: &str) -> Span {
    Span { link: Some(url.into()), ..plain(t) }
}
fn block(kind: BlockKind, spans: Vec<Span>) -> Block {
    Block { kind, spans }
}
fn item(depth: u8, marker: &str, t: &str) -> Block {
    block(ListItem { depth, marker: marker.into() }, vec![plain(t)])
}

const NEWSLETTER: &str = r#"<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0">
<html><head><title>Weekly</title><meta charset="utf-8">
<link rel="stylesheet" href="https://cdn.example.com/news.css">
<style type="text/css">body { background: url('https://cdn.example.com/bg.png') } p > a { color: red }</style>
</head>
<body background="https://cdn.example.com/body.jpg">
<div style="display: none; max-height: 0">Preheader you never see &zwnj;&nbsp;</div>
<table width="100%" cellpadding="0"><tr><td><img src="https://cdn.example.com/logo.png" alt="ACME News" width="120"></td>
  <td align="right"><a href="https://example.com/web?id=1&amp;u=2">View in browser</a></td></tr>
<tr><td colspan="2"><h1>Hello&nbsp;there!</h1>
<p>This week: <b>big</b> news &mdash; read <a href="https://example.com/a">the
   article</a>.</p>
<p style="background-image: url(&quot;https://cdn.example.com/hero.jpg&quot;)">Fine print &copy; 2024</p>
<p><a href="javascript:alert(1)">Unsubscribe</a></p>
<p>&nbsp;</p></td></tr></table>
<img src="https://track.example.com/open.gif?u=9" width="1" height="1" alt="" style="display:block">
<img src="cid:part1@example.com" alt="inline">
<script>document.write('<p>evil</p>')</script><!-- <p>comment</p> -->
</body></html>"#;

#[test]
fn newsletter() {
    let doc = from_html(NEWSLETTER);
    let bold = Span { bold: true, ..plain("big") };
    assert_eq!(
        doc.blocks,
        vec![
            // The logo's text stands for its picture once remote content is loaded.
            block(
                Paragraph,
                vec![
                    Span { image: Some("https://cdn.example.com/logo.png".into()), ..plain("[image: ACME News]") },
                    plain(" | "),
                    link("View in browser", "https://example.com/web?id=1&u=2"),
                ],
            ),
            block(Heading(1), vec![plain("Hello there!")]),
            block(Paragraph, vec![plain("This week: "), bold, plain(" news — read "), link("the article", "https://example.com/a"), plain(".")]),
            block(Paragraph, vec![plain("Fine print © 2024")]),
            block(Paragraph, vec![plain("Unsubscribe")]),
            block(Paragraph, vec![plain("[image: inline]")]),
        ]
    );
    let remote: Vec<String> = ["news.css", "bg.png", "body.jpg", "logo.png", "hero.jpg"]
        .iter()
        .map(|f| format!("https://cdn.example.com/{f}"))
        .chain(["https://track.example.com/open.gif?u=9".to_owned()])
        .collect();
    assert_eq!(doc.remote_content, remote);
    assert_eq!(
        to_plain(&doc),
        "[image: ACME News] | View in browser <https://example.com/web?id=1&u=2>\n\nHello there!\n\n\
         This week: big news — read the article <https://example.com/a>.\n\nFine print © 2024\n\nUnsubscribe\n\n[image: inline]"
    );
}

#[test]
fn nested_lists_are_numbered_per_list() {
    let doc = from_html("<ol><li>One</li><li>Two<ul><li>Sub a</li><li>Sub b<ol start=\"7\"><li>deep<p>more</p></li></ol></li></ul></li><li>Three</li></ol><ul><li>x<li>y</ul><ol><li value=5>five<li>six</ol>");
    let expected = vec![
        item(1, "1.", "One"),
        item(1, "2.", "Two"),
        item(2, "•", "Sub a"),
        item(2, "•", "Sub b"),
        item(3, "7.", "deep"),
        item(3, "", "more"),
        item(1, "3.", "Three"),
        item(1, "•", "x"),
        item(1, "•", "y"),
        item(1, "5.", "five"),
        item(1, "6.", "six"),
    ];
    assert_eq!(doc.blocks, expected);
    assert!(to_plain(&doc).starts_with("1. One\n2. Two\n  • Sub a\n  • Sub b\n    7. deep\n      more\n3. Three"));
}

#[test]
fn blockquotes_nest() {
    let doc = from_html("<p>Reply</p><blockquote type=cite>Level one<blockquote>Level two</blockquote>back to one</blockquote>after");
    let kinds: Vec<(&BlockKind, String)> = doc.blocks.iter().map(|b| (&b.kind, b.spans[0].text.clone())).collect();
    assert_eq!(
        kinds,
        vec![(&Paragraph, "Reply".into()), (&Quote(1), "Level one".into()), (&Quote(2), "Level two".into()), (&Quote(1), "back to one".into()), (&Paragraph, "after".into())]
    );
    assert_eq!(to_plain(&doc), "Reply\n\n> Level one\n\n>> Level two\n\n> back to one\n\nafter");
    // Thunderbird quoting a plain-text message keeps depth and layout.
    let doc = from_html("<blockquote type=\"cite\"><pre class=\"moz-quote-pre\" wrap=\"\">  a\n&gt; b\n</pre></blockquote>");
    assert_eq!(doc.blocks, vec![block(Quote(1), vec![Span { monospace: true, ..plain("  a\n> b") }])]);
}

#[test]
fn entities_and_whitespace() {
    let doc = from_html("<p>&lt;b&gt; &amp; &quot;q&quot; &#39;s&#39; &#x263A;&#65; \n\t&nbsp;x &bogus; &amp &#146; &#0; &#x110000; Caf&eacute;&#8203;</p>");
    assert_eq!(doc.blocks, vec![block(Paragraph, vec![plain("<b> & \"q\" 's' ☺A  x &bogus; & ’ \u{fffd} \u{fffd} Café\u{200b}")])]);
    let doc = from_html("<div>a <b> b </b> c<br> d <br><br>e</div><p><b>x</b><b>y</b></p><p> </p><div>&nbsp;&zwnj;</div><p></p>");
    let bold = Span { bold: true, ..plain("") };
    assert_eq!(
        doc.blocks,
        vec![
            block(Paragraph, vec![plain("a "), Span { text: "b ".into(), ..bold.clone() }, plain("c\nd\n\ne")]),
            block(Paragraph, vec![Span { text: "xy".into(), ..bold }]),
        ]
    );
}

#[test]
fn pre_and_table_cells() {
    let doc = from_html("<pre>\n  x &lt; y\r\n\tz\n</pre><table><tr><th>Name</th> <td>Value</td><td></td></tr><tr><td>a<br>b</td><td>c</td></tr></table><hr>");
    let mono = Span { monospace: true, ..plain("  x < y\n\tz") };
    let bold = Span { bold: true, ..plain("Name") };
    assert_eq!(
        doc.blocks,
        vec![
            block(Preformatted, vec![mono]),
            block(Paragraph, vec![bold, plain(" | Value")]),
            block(Paragraph, vec![plain("a\nb | c")]),
            block(Rule, vec![]),
        ]
    );
}

#[test]
fn only_web_and_mail_links_survive() {
    let doc = from_html("<a href=\"javascript:alert(1)\">j</a> <a href=' JaVaScRiPt:x'>k</a> <a href=\"java\tscript:x\">l</a> \
         <a href=\"data:text/html,hi\">d</a> <a href=vbscript:x>v</a> <a href=/relative>r</a> \
         <a href=\"MAILTO:a@b.c\">m</a> <a href=\"http://e.com/\n?x\">h</a>");
    let links: Vec<Option<&str>> = doc.blocks[0].spans.iter().map(|s| s.link.as_deref()).collect();
    assert_eq!(links, vec![None, Some("MAILTO:a@b.c"), None, Some("http://e.com/?x")]);
    assert_eq!(doc.blocks[0].spans[0].text, "j k l d v r ");
}

#[test]
fn plain_text_quotes_and_links() {
    let doc = from_plain("Hi Bob,\r\nsee https://example.com/path?q=1.\n\n> On Monday you wrote:\n> > nested (http://x.org/wiki/A_(b)) \n>\n>more\nbye http:// HTTPS://Y.ORG");
    assert_eq!(
        doc.blocks,
        vec![
            block(Paragraph, vec![plain("Hi Bob,\nsee "), link("https://example.com/path?q=1", "https://example.com/path?q=1"), plain(".")]),
            block(Quote(1), vec![plain("On Monday you wrote:")]),
            block(Quote(2), vec![plain("nested ("), link("http://x.org/wiki/A_(b)", "http://x.org/wiki/A_(b)"), plain(")")]),
            block(Quote(1), vec![plain("more")]),
            block(Paragraph, vec![plain("bye http:// "), link("HTTPS://Y.ORG", "HTTPS://Y.ORG")]),
        ]
    );
    assert!(doc.remote_content.is_empty());
    assert_eq!(to_plain(&from_plain("a\n> b\n>> c")), "a\n\n> b\n\n>> c");
}

const TRICKY: &str = "<!DOCTYPE html><html><head><style>a{b:url(\"http://x/y\")}@import 'https://x/i.css';</style></head>\
    <body><p class='a' data-x=\"1>2\" =odd>Caf&eacute; &amp&#x41;&#128512; <b><i>bold<a href=\"http://ex.com/?a=1&amp;b=2\">link</b></i></a>\
    <br/><!-- c --><pre>\n x&lt;y</pre><ol start=3><li>one<li>two<ul><li>n</ul></ol><blockquote>q<blockquote>qq</blockquote></blockquote>\
    <table><tr><td>a<td>b</table><img src=cid:1 alt=\"é\"><img srcset=\"//i.com/a.png 1x, https://i.com/b.png 2x\"><hr>\
    <script>if(a<b)</script>ünïcødé &#x; &# & <![CDATA[x]]> <? pi ?> </ > < 3 <a href='http://u/\n";

#[test]
fn every_prefix_of_tricky_input_is_fine() {
    let full = from_html(TRICKY);
    assert!(full.remote_content.contains(&"https://i.com/a.png".to_owned()));
    assert!(full.remote_content.contains(&"https://x/i.css".to_owned()));
    assert!(to_plain(&full).contains("Café &A😀 bold"));
    for (i, _) in TRICKY.char_indices() {
        let doc = from_html(&TRICKY[..i]);
        let _ = to_plain(&doc);
        assert!(doc.blocks.iter().all(|b| b.kind == Rule || !b.spans.is_empty()), "prefix {i}");
        let _ = from_plain(&TRICKY[..i]);
    }
}

#[test]
fn garbled_deep_and_large_inputs_finish() {
    let pieces = [
        "<", ">", "</", "<b", "<p>", "</p>", "<li>", "<ol>", "</ol>", "<pre>", "</pre>", "<blockquote>", "</blockquote>", "<!--", "-->",
        "&", "&#", "&#x", "1", ";", "amp", "=", "\"", "'", "<a href=http://a>", "</a>", "<br>", "<td>", "<tr>", "<hr>", "<style>",
        "</style>", "url(", "<script>", "</script", " ", "\n", "é", "<img src=http://x alt=", "x",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..400 {
        let mut s = String::new();
        for _ in 0..60 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            s.push_str(pieces[(seed % pieces.len() as u64) as usize]);
        }
        let _ = to_plain(&from_html(&s));
        let _ = from_plain(&s);
    }
    let deep = format!("{}text{}", "<blockquote><ol><li><b><a href=http://x>".repeat(20_000), "</a></b></li></ol></blockquote>".repeat(20_000));
    let doc = from_html(&deep);
    assert_eq!(doc.blocks.len(), 1);
    assert_eq!(doc.blocks[0].kind, ListItem { depth: 255, marker: "1.".into() });
    let start = std::time::Instant::now();
    let big = NEWSLETTER.repeat(1 + (1 << 20) / NEWSLETTER.len());
    assert_eq!(from_html(&big).blocks.len(), 6 * (1 + (1 << 20) / NEWSLETTER.len()));
    for s in ["<", "<a ", "&#", "</", "<!--", "<x", "<p>", "</b>", "<style>", "http://x "] {
        let _ = from_html(&s.repeat((1 << 20) / s.len()));
        let _ = from_plain(&s.repeat((1 << 20) / s.len()));
    }
    assert!(start.elapsed().as_secs() < 10, "took {:?}", start.elapsed());
}

#[test]
fn link_detection_stays_linear_on_hostile_plain_text() {
    let started = std::time::Instant::now();
    let _ = from_plain(&"http".repeat(250_000));
    let _ = from_plain(&format!("https://x.example/{}", ")".repeat(200_000)));
    let _ = from_plain(&"https://a.example/ ".repeat(50_000));
    assert!(started.elapsed() < std::time::Duration::from_secs(5), "took {:?}", started.elapsed());
    let doc = from_plain("see https://example.org/a_(b) and http://x.example.");
    let links: Vec<_> = doc.blocks.iter().flat_map(|b| &b.spans).filter_map(|s| s.link.as_deref()).collect();
    assert_eq!(links, ["https://example.org/a_(b)", "http://x.example"]);
}
