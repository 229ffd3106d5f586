//! What every request passes before a handler: the cross-site check on
//! state-changing requests, the body size limit, and the security headers
//! on every response; plus the per-address rate limit of the public page.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use tower_http::set_header::SetResponseHeaderLayer;

use super::Shared;

/// No script at all, styles only from the desk itself, no framing.
const CSP: &str = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'";

/// The security headers every response carries, around `router`.
pub fn with_headers(router: axum::Router) -> axum::Router {
    let set = |name, value: &'static str| {
        SetResponseHeaderLayer::overriding(name, HeaderValue::from_static(value))
    };
    router
        .layer(set(header::CONTENT_SECURITY_POLICY, CSP))
        .layer(set(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(set(header::X_FRAME_OPTIONS, "DENY"))
        // Report links are secrets: never sent on to another site.
        .layer(set(header::REFERRER_POLICY, "no-referrer"))
}

fn safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether a state-changing request comes from a page of this desk: a
/// browser says where a request comes from (`Sec-Fetch-Site`, `Origin`);
/// a request from another site is refused. Tools that send neither header
/// (curl, scripts) are not browsers and cannot carry a victim's cookie.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let get = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = get("sec-fetch-site") {
        if site != "same-origin" && site != "none" {
            return false;
        }
    }
    match get("origin") {
        None => true,
        // Under `Referrer-Policy: no-referrer` a browser sends `Origin: null`
        // even for its own forms; then its `Sec-Fetch-Site` (which no page
        // can set) says where the request comes from.
        Some("null") => get("sec-fetch-site") == Some("same-origin"),
        Some(origin) => {
            let authority = origin.split_once("://").map(|(_, rest)| rest).unwrap_or("");
            get("host").is_some_and(|host| host.eq_ignore_ascii_case(authority))
        }
    }
}

/// Cross-site and size checks before any handler runs.
pub async fn checks(State(app): State<Shared>, req: Request, next: Next) -> Response {
    if !safe(req.method()) && !same_origin(req.headers()) {
        return app.views.message(
            StatusCode::FORBIDDEN,
            "请求被拒绝",
            "该请求来自其他网站(跨站请求),已拒绝。请直接在收件台页面上操作。",
        );
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > super::MAX_BODY) {
        return too_large(&app);
    }
    let mut response = next.run(req).await;
    if !response.headers().contains_key(header::CACHE_CONTROL) {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

pub fn too_large(app: &super::App) -> Response {
    app.views.message(
        StatusCode::PAYLOAD_TOO_LARGE,
        "文件过大",
        &format!(
            "上传的文件超过 {} MB 的上限,未接收。请删除表格中多余的工作表、图片后重新保存再上传。",
            super::MAX_UPLOAD / 1024 / 1024
        ),
    )
}

/// Uploads per address within the last hour.
pub struct RateLimit {
    per_hour: u32,
    seen: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl RateLimit {
    pub fn new(per_hour: u32) -> RateLimit {
        RateLimit {
            per_hour,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one upload from `addr`; false when the address has used up
    /// its uploads for the hour.
    pub fn allow(&self, addr: IpAddr) -> bool {
        let hour = Duration::from_secs(3600);
        let now = Instant::now();
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        // Forget addresses that have been quiet for an hour.
        seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < hour));
        let times = seen.entry(addr).or_default();
        while times
            .front()
            .is_some_and(|t| now.duration_since(*t) >= hour)
        {
            times.pop_front();
        }
        if times.len() >= self.per_hour as usize {
            return false;
        }
        times.push_back(now);
        true
    }

    pub fn per_hour(&self) -> u32 {
        self.per_hour
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_static(v));
        }
        h
    }

    #[test]
    fn cross_site_requests_are_told_apart() {
        assert!(same_origin(&headers(&[("host", "desk:8080")])));
        assert!(same_origin(&headers(&[
            ("host", "desk:8080"),
            ("origin", "http://desk:8080"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "desk:8080"),
            ("origin", "http://evil.example"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "desk:8080"),
            ("sec-fetch-site", "cross-site"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "desk:8080"),
            ("origin", "null"),
        ])));
        // Chromium's own form post under `Referrer-Policy: no-referrer`.
        assert!(same_origin(&headers(&[
            ("host", "desk:8080"),
            ("origin", "null"),
            ("sec-fetch-site", "same-origin"),
        ])));
        assert!(!same_origin(&headers(&[
            ("host", "desk:8080"),
            ("origin", "null"),
            ("sec-fetch-site", "cross-site"),
        ])));
    }

    #[test]
    fn the_rate_limit_counts_per_address() {
        let r = RateLimit::new(2);
        let a: IpAddr = "10.0.0.1".parse().unwrap();
        let b: IpAddr = "10.0.0.2".parse().unwrap();
        assert!(r.allow(a) && r.allow(a));
        assert!(!r.allow(a));
        assert!(r.allow(b));
    }
}
