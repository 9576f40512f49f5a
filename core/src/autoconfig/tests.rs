use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use super::*;

const EMAIL: &str = "Jo.Doe+x@Example.org";

fn config(incoming: &str, outgoing: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="example.org">
    <domain>example.org</domain>
    <displayName>Example Mail for %EMAILDOMAIN%</displayName>
    {incoming}
    <incomingServer type="pop3">
      <hostname>pop.example.org</hostname><port>995</port><socketType>SSL</socketType>
    </incomingServer>
    {outgoing}
  </emailProvider>
</clientConfig>"#
    )
}

fn server(tag: &str, kind: &str, host: &str, port: &str, socket: &str, user: &str) -> String {
    format!(
        "<{tag} type=\"{kind}\"><hostname>{host}</hostname><port>{port}</port><socketType>{socket}</socketType>\
         <username>{user}</username><authentication>password-cleartext</authentication></{tag}>"
    )
}

fn incoming(host: &str, port: &str, socket: &str, user: &str) -> String {
    server("incomingServer", "imap", host, port, socket, user)
}

#[test]
fn placeholders_are_filled_and_ssl_beats_starttls() -> Result<()> {
    let imap = incoming("imap.%EMAILDOMAIN%", "143", "STARTTLS", "%EMAILADDRESS%")
        + &incoming("imaps.%EMAILDOMAIN%", "993", "SSL", "%EMAILLOCALPART%");
    let smtp = server("outgoingServer", "smtp", "smtp.example.org", "587", "STARTTLS", "%EMAILLOCALPART%@%EMAILDOMAIN%");
    let found = parse(&config(&imap, &smtp), EMAIL)?.ok_or(CoreError::Autoconfig("none".into()))?;
    assert_eq!(found.imap.host, "imaps.example.org");
    assert_eq!((found.imap.port, found.imap.security), (993, Security::Tls));
    assert_eq!(found.imap.username, "Jo.Doe+x");
    assert!(found.imap.compress && !found.imap.allow_plaintext && found.imap.tls_ca_file.is_none());
    assert!(!found.is_plaintext());
    let smtp = found.smtp.ok_or(CoreError::Autoconfig("no smtp".into()))?;
    assert_eq!(
        (smtp.host.as_str(), smtp.port, smtp.security, smtp.username.as_str()),
        ("smtp.example.org", 587, Security::Starttls, "Jo.Doe+x@example.org")
    );
    assert_eq!(found.provider.as_deref(), Some("Example Mail for example.org"));
    assert_eq!(found.source, "");
    Ok(())
}

#[test]
fn the_first_of_equally_secure_servers_wins_and_defaults_fill_gaps() -> Result<()> {
    let imap = "<incomingServer type=\"imap\"><hostname>first.example.org</hostname>\
                <socketType>STARTTLS</socketType></incomingServer>"
        .to_string()
        + &incoming("second.example.org", "1143", "STARTTLS", "x");
    let found = parse(&config(&imap, ""), EMAIL)?.ok_or(CoreError::Autoconfig("none".into()))?;
    assert_eq!(found.imap.host, "first.example.org");
    assert_eq!(found.imap.port, 143, "port defaults from the security");
    assert_eq!(found.imap.username, EMAIL, "username defaults to the address");
    assert_eq!(found.smtp, None);
    Ok(())
}

#[test]
fn plaintext_only_is_returned_but_not_allowed() -> Result<()> {
    let found = parse(&config(&incoming("imap.example.org", "143", "plain", "u"), ""), EMAIL)?;
    let found = found.ok_or(CoreError::Autoconfig("none".into()))?;
    assert!(found.is_plaintext());
    assert!(!found.imap.allow_plaintext);
    Ok(())
}

#[test]
fn no_usable_imap_server_is_none() -> Result<()> {
    // POP3 only (config() always adds one).
    assert_eq!(parse(&config("", ""), EMAIL)?, None);
    // OAuth2 only: our password login would fail.
    let oauth = "<incomingServer type=\"imap\"><hostname>imap.example.org</hostname><port>993</port>\
                 <socketType>SSL</socketType><authentication>OAuth2</authentication></incomingServer>";
    assert_eq!(parse(&config(oauth, ""), EMAIL)?, None);
    // An unknown socket type.
    assert_eq!(parse(&config(&incoming("i.example.org", "1", "QUIC", "u"), ""), EMAIL)?, None);
    assert_eq!(parse("<clientConfig/>", EMAIL)?, None);
    Ok(())
}

#[test]
fn malformed_files_are_errors_not_panics() {
    for xml in ["", "<clientConfig>", "<html><body>Not found</body></html>", "\u{0}\u{1}", "<a></b>",
        "<!DOCTYPE x [<!ENTITY a \"aaaa\">]><clientConfig>&a;</clientConfig>"]
    {
        assert!(parse(xml, EMAIL).is_err(), "{xml:?}");
    }
    assert!(parse(&config("", ""), "not-an-address").is_err());
}

#[test]
fn candidate_urls_follow_thunderbirds_order() {
    assert_eq!(
        candidate_urls(EMAIL),
        [
            "https://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=Jo.Doe%2Bx@Example.org",
            "https://example.org/.well-known/autoconfig/mail/config-v1.1.xml",
            "http://autoconfig.example.org/mail/config-v1.1.xml?emailaddress=Jo.Doe%2Bx@Example.org",
            "http://example.org/.well-known/autoconfig/mail/config-v1.1.xml",
        ]
    );
    for bad in ["", "jo", "@example.org", "jo@", "jo@localhost", "jo@exa mple.org", "jo@x.org/evil?", "jo@a..b"] {
        assert!(candidate_urls(bad).is_empty(), "{bad:?}");
    }
}

/// A one-request-per-connection HTTP server on loopback.
async fn serve(body: String) -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let body = body.clone();
            tokio::spawn(async move {
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                let _ = reader.read_line(&mut request_line).await;
                loop {
                    let mut line = String::new();
                    match reader.read_line(&mut line).await {
                        Ok(0) | Err(_) => break,
                        Ok(_) if line.trim().is_empty() => break,
                        Ok(_) => {}
                    }
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("");
                let response = match path.split('?').next().unwrap_or("") {
                    "/.well-known/autoconfig/mail/config-v1.1.xml" => {
                        format!("HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {}\r\n\r\n{body}", body.len())
                    }
                    "/moved" => "HTTP/1.1 302 Found\r\nLocation: /chunked\r\nContent-Length: 0\r\n\r\n".into(),
                    "/loop" => "HTTP/1.1 301 Moved\r\nLocation: /loop\r\n\r\n".into(),
                    "/chunked" => {
                        let (a, b) = body.split_at(body.len() / 2);
                        format!(
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n{:x};ext=1\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n",
                            a.len(),
                            b.len()
                        )
                    }
                    "/big" => "HTTP/1.1 200 OK\r\nContent-Length: 2000000\r\n\r\n<clientConfig>".into(),
                    "/html" => "HTTP/1.0 200 OK\r\n\r\n<html><body>Welcome</body></html>".into(),
                    _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found".into(),
                };
                let mut stream = reader.into_inner();
                let _ = stream.write_all(response.as_bytes()).await;
                let _ = stream.shutdown().await;
            });
        }
    });
    Ok(port)
}

#[tokio::test]
async fn discover_from_skips_a_404_and_finds_the_well_known_file() -> Result<()> {
    let xml = config(&incoming("imap.%EMAILDOMAIN%", "993", "SSL", "%EMAILADDRESS%"), "");
    let port = serve(xml).await.map_err(|e| CoreError::io("test server", e))?;
    let base = format!("http://127.0.0.1:{port}");
    let urls = [
        format!("{base}/mail/config-v1.1.xml?emailaddress=jo%40example.org"),
        format!("{base}/.well-known/autoconfig/mail/config-v1.1.xml"),
    ];
    let found = discover_from(EMAIL, &urls).await?.ok_or(CoreError::Autoconfig("not found".into()))?;
    assert_eq!(found.source, urls[1]);
    assert_eq!((found.imap.host.as_str(), found.imap.username.as_str()), ("imap.example.org", "Jo.Doe+x@Example.org"));

    // Too big, not XML, a redirect loop: skipped; a redirect to a chunked body: found.
    let urls = ["/big", "/html", "/loop", "/moved"].map(|p| format!("{base}{p}"));
    let found = discover_from(EMAIL, &urls).await?.ok_or(CoreError::Autoconfig("not found".into()))?;
    assert_eq!(found.source, format!("{base}/chunked"));
    assert_eq!(found.imap.port, 993);

    // Nothing listening, or nothing usable: None, not an error.
    let closed = {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| CoreError::io("bind", e))?;
        listener.local_addr().map_err(|e| CoreError::io("addr", e))?.port()
    };
    let urls = [format!("http://127.0.0.1:{closed}/x"), format!("{base}/html"), "ftp://x/".into()];
    assert_eq!(discover_from(EMAIL, &urls).await?, None);
    assert!(discover_from("nobody", &urls).await.is_err());
    Ok(())
}
