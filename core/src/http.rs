//! Just enough HTTP/1.1 for an autoconfig file or a mail's remote image:
//! one GET per connection, Content-Length, chunked or read-to-close
//! bodies, a few redirects, a size cap and a time limit. A full client
//! library would be most of Satchel's dependency tree for these two uses.

use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::ServerName;
use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};

const MAX_HEAD: usize = 64 * 1024;
const MAX_REDIRECTS: usize = 3;

/// How much one fetch may take.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bigger bodies are refused.
    pub max_body: usize,
    /// For the whole fetch, redirects included.
    pub timeout: Duration,
}

/// A successful fetch: the body, its declared type and the URL it finally
/// came from.
#[derive(Debug)]
pub(crate) struct Fetched {
    pub url: String,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

/// GETs `url`, following redirects; `Err` says why this URL is of no use.
pub(crate) async fn get(url: &str, limits: Limits) -> Result<Fetched, String> {
    tokio::time::timeout(limits.timeout, get_following(url, limits.max_body)).await.map_err(|_| "timed out".to_string())?
}

async fn get_following(start: &str, max_body: usize) -> Result<Fetched, String> {
    let mut url = Url::parse(start)?;
    for _ in 0..=MAX_REDIRECTS {
        let response = get_once(&url, max_body).await?;
        match response.status {
            200 => return Ok(Fetched { url: url.to_string(), content_type: response.content_type, body: response.body }),
            301 | 302 | 303 | 307 | 308 => {
                let location = response.location.ok_or("redirect without a Location")?;
                let next = url.join(&location)?;
                // Settings fetched over https must not be swapped for ones an
                // attacker on the path could write.
                if url.https && !next.https {
                    return Err(format!("refusing redirect from https to {next}"));
                }
                url = next;
            }
            status => return Err(format!("HTTP status {status}")),
        }
    }
    Err("too many redirects".into())
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Url {
    https: bool,
    host: String,
    port: u16,
    /// Path and query, starting with '/'.
    target: String,
}

impl Url {
    pub(crate) fn parse(text: &str) -> Result<Url, String> {
        let (https, rest) = if let Some(r) = text.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = text.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!("not an http(s) URL: {text}"));
        };
        let (authority, target) = match rest.find(['/', '?']) {
            Some(i) if rest[i..].starts_with('/') => (&rest[..i], rest[i..].to_string()),
            Some(i) => (&rest[..i], format!("/{}", &rest[i..])),
            None => (rest, "/".to_string()),
        };
        let target = target.split('#').next().unwrap_or("/").to_string();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (h, p.parse::<u16>().map_err(|_| format!("bad port in {text}"))?),
            None => (authority, if https { 443 } else { 80 }),
        };
        if host.is_empty() || host.contains(['@', '[', ']', ' ']) {
            return Err(format!("unsupported host in {text}"));
        }
        Ok(Url { https, host: host.to_ascii_lowercase(), port, target })
    }

    /// Resolves a Location header against this URL.
    fn join(&self, location: &str) -> Result<Url, String> {
        if location.starts_with("http://") || location.starts_with("https://") {
            Url::parse(location)
        } else if location.starts_with('/') {
            Ok(Url { target: location.to_string(), ..self.clone() })
        } else {
            let dir = self.target.split('?').next().unwrap_or("/");
            let dir = dir.rsplit_once('/').map_or("", |(d, _)| d);
            Ok(Url { target: format!("{dir}/{location}"), ..self.clone() })
        }
    }

    fn default_port(&self) -> bool {
        self.port == if self.https { 443 } else { 80 }
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        if self.default_port() {
            write!(f, "{scheme}://{}{}", self.host, self.target)
        } else {
            write!(f, "{scheme}://{}:{}{}", self.host, self.port, self.target)
        }
    }
}

struct Response {
    status: u16,
    location: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

async fn get_once(url: &Url, max_body: usize) -> Result<Response, String> {
    let tcp = TcpStream::connect((url.host.as_str(), url.port)).await.map_err(|e| e.to_string())?;
    if !url.https {
        return exchange(tcp, url, max_body).await;
    }
    let roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(url.host.clone()).map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(Arc::new(config)).connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?;
    exchange(tls, url, max_body).await
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S, url: &Url, max_body: usize) -> Result<Response, String> {
    let host = if url.default_port() { url.host.clone() } else { format!("{}:{}", url.host, url.port) };
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Satchel\r\nAccept: */*\r\n\
         Accept-Encoding: identity\r\nConnection: close\r\n\r\n",
        url.target
    );
    stream.write_all(request.as_bytes()).await.map_err(|e| e.to_string())?;
    stream.flush().await.map_err(|e| e.to_string())?;
    let mut reader = BufReader::new(stream);

    let mut head = Vec::new();
    loop {
        let before = head.len();
        let n = (&mut reader).take(MAX_HEAD as u64).read_until(b'\n', &mut head).await.map_err(|e| e.to_string())?;
        if n == 0 || head.len() >= MAX_HEAD {
            return Err("incomplete response head".into());
        }
        if head[before..].iter().all(|b| b.is_ascii_whitespace()) {
            break;
        }
    }
    let head = String::from_utf8_lossy(&head);
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1."))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or("not an HTTP response")?;
    let (mut length, mut chunked, mut location, mut content_type) = (None, false, None, None);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else { continue };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = Some(value.parse::<usize>().map_err(|_| "bad Content-Length")?),
            "transfer-encoding" => chunked = value.to_ascii_lowercase().contains("chunked"),
            "location" => location = Some(value.to_string()),
            "content-type" => content_type = Some(value.to_ascii_lowercase()),
            _ => {}
        }
    }
    // Redirects and errors: the body is not needed.
    if status != 200 {
        return Ok(Response { status, location, content_type, body: Vec::new() });
    }
    let body = if chunked {
        read_chunked(&mut reader, max_body).await?
    } else if let Some(n) = length {
        if n > max_body {
            return Err(format!("body of {n} bytes is too big"));
        }
        let mut body = vec![0; n];
        reader.read_exact(&mut body).await.map_err(|e| e.to_string())?;
        body
    } else {
        let mut body = Vec::new();
        // Servers that close without TLS close_notify are common; a cut
        // file fails the XML parse anyway.
        match (&mut reader).take(max_body as u64 + 1).read_to_end(&mut body).await {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {}
            Err(e) => return Err(e.to_string()),
        }
        body
    };
    if body.len() > max_body {
        return Err("body is too big".into());
    }
    Ok(Response { status, location, content_type, body })
}

async fn read_chunked<R: AsyncBufRead + Unpin>(reader: &mut R, max_body: usize) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let mut line = Vec::new();
        (&mut *reader).take(1024).read_until(b'\n', &mut line).await.map_err(|e| e.to_string())?;
        let line = String::from_utf8_lossy(&line);
        let size = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {size:?}"))?;
        if size == 0 {
            return Ok(body);
        }
        if body.len() + size > max_body {
            return Err("body is too big".into());
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).await.map_err(|e| e.to_string())?;
        let mut crlf = [0; 2];
        reader.read_exact(&mut crlf).await.map_err(|e| e.to_string())?;
    }
}

#[cfg(test)]
mod tests {
    use super::Url;

    #[test]
    fn urls_parse_print_and_join() -> Result<(), String> {
        let u = Url::parse("https://Example.org/a/b.xml?x=1#frag")?;
        assert_eq!(u.to_string(), "https://example.org/a/b.xml?x=1");
        assert_eq!(u.join("/c")?.to_string(), "https://example.org/c");
        assert_eq!(u.join("c.xml")?.to_string(), "https://example.org/a/c.xml");
        assert_eq!(u.join("http://other:81/")?.to_string(), "http://other:81/");
        assert_eq!(Url::parse("http://127.0.0.1:8080?q")?.to_string(), "http://127.0.0.1:8080/?q");
        assert!(Url::parse("ftp://x/").is_err());
        assert!(Url::parse("http://x:99999/").is_err());
        Ok(())
    }
}
