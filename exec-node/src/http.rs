//! The node's HTTP API: Piston v2 compatibility, Tandem's streaming endpoint (server-sent
//! events), job records, health and Prometheus metrics.
//!
//! | route | what |
//! | --- | --- |
//! | `GET /api/v2/runtimes` | Piston: languages |
//! | `POST /api/v2/execute` | Piston: run and answer when done |
//! | `GET /api/tandem/v1/languages` | the full language manifest (templates included) |
//! | `POST /api/tandem/v1/runs` | run, answering with an SSE stream of `RunEvent`s |
//! | `GET /api/tandem/v1/runs/{id}` | a finished run's record |
//! | `DELETE /api/tandem/v1/runs/{id}` | cancel a run |
//! | `GET /api/tandem/v1/runs/{id}/events` | a recent run's events (SSE): all so far, then live |
//! | `GET /api/tandem/v1/problems` | the problem bank: summaries |
//! | `GET /api/tandem/v1/problems/{id}` | a problem's public part (never its hidden tests) |
//! | `GET /api/tandem/v1/audit` | the audit log as JSON lines (admin; `room`, `requester`, `since_ms`, `until_ms`) |
//! | `GET /healthz`, `GET /metrics` | health, Prometheus |
//!
//! A run naming a `problem` (and `submit` for the hidden tests) streams like any run; its
//! `finished` event carries `result.tests`.
//!
//! Every route but `/healthz` goes through [`gate`]: the per-IP rate, the API key, the per-key
//! rate (see [`crate::auth`]). Handlers then check the scope they need; who ran a run, and the
//! queue's fairness tenant, come from the key.

use std::convert::Infallible;
use std::net::SocketAddr;

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use futures_util::{Stream, StreamExt};
use serde::de::DeserializeOwned;
use tandem_shared::exec::{RunEvent, RunRequest};

use crate::auth::{Denied, Keys, Limits, Principal, Scope};
use crate::node::{Node, SubmitError};
use crate::piston::{ExecuteRequest, ExecuteResponse, Runtime};

/// Largest request body accepted (sources + stdin + JSON overhead).
pub const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;

/// How much of an oversized body is still read (and thrown away) before answering 413.
///
/// An HTTP/1.1 server that answers before the body has arrived and then closes the
/// connection races the client's write: the client gets a broken pipe or a reset instead of
/// the answer, depending on timing. Reading the rest first makes the 413 reliable for any
/// body a mistaken client plausibly sends; beyond this (or past [`DRAIN_TIME`]) the node stops
/// paying for someone else's upload and answers at once.
const MAX_DRAINED_BYTES: usize = 64 * 1024 * 1024;

/// How long an oversized body is drained at most.
const DRAIN_TIME: Duration = Duration::from_secs(10);

/// An error answer: `{"message": …}` like Piston's.
pub struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut resp = (self.0, Json(serde_json::json!({ "message": self.1 }))).into_response();
        if self.0 == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        }
        if self.0 == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<Denied> for ApiError {
    fn from(e: Denied) -> Self {
        let status = match e {
            Denied::NoKey | Denied::UnknownKey => StatusCode::UNAUTHORIZED,
            Denied::Scope(_) | Denied::NotYours => StatusCode::FORBIDDEN,
        };
        ApiError(status, e.to_string())
    }
}

fn too_many(seconds: u64, whose: &str) -> Response {
    let mut resp = ApiError(
        StatusCode::TOO_MANY_REQUESTS,
        format!("rate limit: too many requests from this {whose}; retry in {seconds} s"),
    )
    .into_response();
    resp.headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    resp
}

/// What [`gate`] needs: the keys and the rates.
pub struct Gate {
    keys: Keys,
    limits: Limits,
}

impl Gate {
    pub fn new(cfg: &crate::NodeConfig) -> Result<Self, crate::auth::KeyConfigError> {
        Ok(Self {
            keys: Keys::from_config(&cfg.api_keys)?,
            limits: Limits::new(
                cfg.http_requests_per_minute_per_ip,
                cfg.http_requests_per_minute_per_key,
            ),
        })
    }
}

/// Rate per IP, then the key, then rate per key; the caller goes into the request's extensions.
async fn gate(
    State(gate): State<std::sync::Arc<Gate>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    mut req: Request,
    next: Next,
) -> Response {
    if req.uri().path() == "/healthz" {
        return next.run(req).await;
    }
    if let Err(wait) = gate.limits.check_ip(peer.ip()) {
        return too_many(wait, "address");
    }
    let authorization = req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let who = match gate.keys.authenticate(authorization, peer.ip()) {
        Ok(who) => who,
        Err(e) => return ApiError::from(e).into_response(),
    };
    if let Err(wait) = gate.limits.check_principal(&who) {
        return too_many(wait, "API key");
    }
    req.extensions_mut().insert(who);
    next.run(req).await
}

impl From<SubmitError> for ApiError {
    fn from(e: SubmitError) -> Self {
        let status = match e {
            SubmitError::Invalid(_) => StatusCode::BAD_REQUEST,
            SubmitError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            SubmitError::CancelledBeforeStart => StatusCode::CONFLICT,
            SubmitError::Problem(tandem_problems::BankError::UnknownProblem(_)) => StatusCode::NOT_FOUND,
            SubmitError::Problem(_) => StatusCode::BAD_REQUEST,
        };
        ApiError(status, e.to_string())
    }
}

/// Reads a request body of at most [`MAX_BODY_BYTES`]; a larger one is a JSON 413.
async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let too_large = || {
        ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the node accepts ({} bytes at most)",
                MAX_BODY_BYTES
            ),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_DRAINED_BYTES as u64) {
        return Err(too_large());
    }
    let mut stream = body.into_data_stream();
    let mut kept = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk =
            chunk.map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("could not read the request body: {e}")))?;
        if kept.len() + chunk.len() > MAX_BODY_BYTES {
            // Drain the rest (bounded in bytes and time), then answer.
            let mut seen = kept.len() + chunk.len();
            let _ = tokio::time::timeout(DRAIN_TIME, async {
                while let Some(Ok(chunk)) = stream.next().await {
                    seen += chunk.len();
                    if seen > MAX_DRAINED_BYTES {
                        break;
                    }
                }
            })
            .await;
            return Err(too_large());
        }
        kept.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(kept))
}

/// Parses a JSON body with a clear 400 on any mistake (axum's default answers in plain text).
fn json_body<T: DeserializeOwned>(headers: &HeaderMap, body: &Bytes) -> Result<T, ApiError> {
    if let Some(ct) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) {
        if !ct.starts_with("application/json") {
            return Err(ApiError(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("expected application/json, got {ct}"),
            ));
        }
    }
    serde_json::from_slice(body).map_err(|e| ApiError(StatusCode::BAD_REQUEST, format!("malformed JSON body: {e}")))
}

/// A run request as the caller may make it: the fairness tenant is the caller's, whatever the
/// body's `room` says.
fn owned(mut req: RunRequest, who: &Principal) -> RunRequest {
    req.room = who.tenant();
    req
}

/// The API behind the gate the node's config describes. Fails on an unusable key list.
pub fn router(node: Node) -> Result<Router, crate::auth::KeyConfigError> {
    let gate = Gate::new(node.config())?;
    Ok(router_with(node, gate))
}

/// The API behind `gate`.
pub fn router_with(node: Node, gate: Gate) -> Router {
    let gate = std::sync::Arc::new(gate);
    Router::new()
        .route("/api/v2/runtimes", get(runtimes))
        .route("/api/v2/execute", post(execute))
        .route("/api/tandem/v1/languages", get(languages))
        .route("/api/tandem/v1/runs", post(stream_run))
        .route("/api/tandem/v1/runs/{id}", get(job).delete(cancel))
        .route("/api/tandem/v1/runs/{id}/events", get(watch))
        .route("/api/tandem/v1/problems", get(problems))
        .route("/api/tandem/v1/problems/{id}", get(problem))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/api/tandem/v1/audit", get(audit))
        .with_state(node)
        .layer(axum::middleware::from_fn_with_state(gate, self::gate))
}

async fn runtimes(State(node): State<Node>) -> Json<Vec<Runtime>> {
    Json(node.manifest().languages().iter().map(Runtime::from).collect())
}

async fn languages(State(node): State<Node>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "languages": node.manifest().languages() }))
}

async fn problems(State(node): State<Node>) -> Json<serde_json::Value> {
    Json(serde_json::json!({ "problems": node.bank().list() }))
}

async fn problem(
    State(node): State<Node>,
    Path(id): Path<String>,
) -> Result<Json<tandem_shared::problem::PublicProblem>, ApiError> {
    node.bank()
        .public(&id)
        .map(Json)
        .map_err(|e| ApiError(StatusCode::NOT_FOUND, e.to_string()))
}

async fn execute(
    State(node): State<Node>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<ExecuteResponse>, ApiError> {
    who.require(Scope::Run)?;
    let body = read_body(&headers, body).await?;
    let req: ExecuteRequest = json_body(&headers, &body)?;
    let req = req
        .into_run_request()
        .map_err(|e| ApiError(StatusCode::BAD_REQUEST, e.0))?;
    let result = node.run(&owned(req, &who), &who.requester()).await?;
    if result.run.is_none() && result.compile.is_none() {
        return Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the run could not be carried out".into(),
        ));
    }
    if let Some(p) = result
        .run
        .as_ref()
        .filter(|p| p.verdict == tandem_shared::exec::Verdict::InternalError)
    {
        return Err(ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            p.message.clone().unwrap_or_else(|| "internal error".into()),
        ));
    }
    Ok(Json(ExecuteResponse::from(&result)))
}

async fn stream_run(
    State(node): State<Node>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    who.require(Scope::Run)?;
    let body = read_body(&headers, body).await?;
    let req: RunRequest = json_body(&headers, &body)?;
    let handle = node.submit(&owned(req, &who), &who.requester())?;
    // The handle lives inside the stream: a client that disconnects drops it, which cancels
    // the run.
    let stream = futures_util::stream::unfold(Some(handle), |state| async move {
        let mut handle = state?;
        let ev = handle.events.recv().await?;
        let last = matches!(ev, RunEvent::Finished { .. } | RunEvent::Error { .. });
        Some((Ok(sse_event(&ev)), if last { None } else { Some(handle) }))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::default()))
}

/// A run's events as SSE: everything so far, then live until the run ends.
async fn watch(
    State(node): State<Node>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let owner = node
        .run_owner(&id)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no recent run {id}")))?;
    who.require_owner(Scope::Watch, &owner)?;
    let events = node
        .watch(&id)
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("no recent run {id}")))?;
    Ok(Sse::new(events.map(|ev| Ok(sse_event(&ev)))).keep_alive(KeepAlive::default()))
}

fn sse_event(ev: &RunEvent) -> Event {
    let name = match ev {
        RunEvent::Queued { .. } => "queued",
        RunEvent::Started { .. } => "started",
        RunEvent::Output { .. } => "output",
        RunEvent::PhaseFinished { .. } => "phase_finished",
        RunEvent::Finished { .. } => "finished",
        RunEvent::Error { .. } => "error",
    };
    Event::default().event(name).json_data(ev).expect("events serialize")
}

async fn job(
    State(node): State<Node>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    who.require(Scope::Watch)?;
    match node.job_record(&id) {
        Ok(Some(rec)) => {
            who.require_owner(Scope::Watch, &rec.requester)?;
            Ok(Json(rec).into_response())
        }
        Ok(None) => Err(ApiError(StatusCode::NOT_FOUND, format!("no finished run {id}"))),
        Err(e) => Err(ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())),
    }
}

async fn cancel(
    State(node): State<Node>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    who.require(Scope::Run)?;
    if let Some(owner) = node.run_owner(&id) {
        who.require_owner(Scope::Run, &owner)?;
    }
    if node.cancel(&id) {
        Ok(StatusCode::ACCEPTED)
    } else {
        Err(ApiError(
            StatusCode::NOT_FOUND,
            format!("no queued or running run {id}"),
        ))
    }
}

/// `?room=&requester=&since_ms=&until_ms=` of `GET /api/tandem/v1/audit`.
#[derive(serde::Deserialize)]
struct AuditQuery {
    room: Option<String>,
    requester: Option<String>,
    since_ms: Option<u64>,
    until_ms: Option<u64>,
}

/// The audit log as JSON lines (admin only).
async fn audit(
    State(node): State<Node>,
    Extension(who): Extension<Principal>,
    axum::extract::Query(q): axum::extract::Query<AuditQuery>,
) -> Result<Response, ApiError> {
    who.require(Scope::Admin)?;
    let Some(store) = node.store() else {
        return Err(ApiError(StatusCode::NOT_FOUND, "this node keeps no audit log".into()));
    };
    let filter = crate::store::AuditFilter {
        room: q.room,
        requester: q.requester,
        since_ms: q.since_ms,
        until_ms: q.until_ms,
    };
    let entries = store
        .audit_log(&filter)
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    let mut lines = String::new();
    for e in entries {
        lines.push_str(&serde_json::to_string(&e).unwrap_or_default());
        lines.push('\n');
    }
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], lines).into_response())
}

async fn metrics(State(node): State<Node>, Extension(who): Extension<Principal>) -> Result<Response, ApiError> {
    who.require(Scope::Admin)?;
    Ok((
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        node.metrics_text(),
    )
        .into_response())
}

/// Why the API is not served.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Keys(#[from] crate::auth::KeyConfigError),
    #[error(
        "refusing to serve the HTTP API on {0} without API keys: anyone who reaches it could run code. Listen on loopback (--http 127.0.0.1:2000), or add keys to the config's `api_keys` (`tandem-exec key new --name NAME --scope run` prints one)"
    )]
    OpenWithoutKeys(SocketAddr),
    #[error("HTTP server: {0}")]
    Io(#[from] std::io::Error),
}

/// A node without API keys serves this machine only: any address but loopback is refused.
pub fn check_exposure(addr: SocketAddr, cfg: &crate::NodeConfig) -> Result<(), ServeError> {
    if cfg.api_keys.is_empty() && !addr.ip().is_loopback() {
        return Err(ServeError::OpenWithoutKeys(addr));
    }
    Ok(())
}

/// Serves the API until `shutdown` resolves.
pub async fn serve(
    node: Node,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    check_exposure(listener.local_addr()?, node.config())?;
    let router = router(node)?;
    axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}
