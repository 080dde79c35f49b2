//! The training page's HTTP server: the page itself (HTML, CSS and script embedded in the binary) and a JSON API.
//! One server runs one session; cases are served strictly in order, and case `n + 1` only once the answer to `n`
//! is committed to the database.
//!
//! axum (the tokio project's framework, on hyper) serves it on the workspace's tokio with HTTP/1 and JSON only.
//! Request bodies and path segments are parsed here rather than by axum's extractors, so that every malformed
//! request gets a JSON `{"error"}` naming the field, in one shape the page shows as it is.
//!
//! API:
//! - `GET /api/session`: the session (trainee, date, number of cases, classes, answered so far, finished).
//! - `GET /api/case/{index}`: the current case (summary, chip panel, MRZ, lights); 409 for any other index.
//! - `GET /api/case/{index}/image/{light}`: its data page under `white`, `infrared` or `ultraviolet` (PNG).
//! - `POST /api/answer` `{"case": n, "verdict": "genuine"|"forged", "defect": "<class>", "lights_viewed": [..]}`
//!   (`application/json`): records the answer.
//! - `GET /api/report`: the session scored so far (what `khil train report --json` prints).

use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use khil_mrtd::mrz::CivilDate;
use serde_json::{Value, json};

use super::case::{CaseSource, ClassInfo, GENUINE, TrainingCase, light_from_name, light_name};
use super::score::Verdict;
use super::store::{Store, StoreError};

/// The page: one file, no external resources.
const PAGE: &str = include_str!("page.html");

/// A session being served.
pub(crate) struct Session {
    pub(crate) id: i64,
    pub(crate) trainee: String,
    pub(crate) seed: u64,
    pub(crate) cases: u32,
    pub(crate) day: CivilDate,
    pub(crate) classes: Vec<ClassInfo>,
}

struct App {
    source: Arc<dyn CaseSource>,
    store: Mutex<Store>,
    session: Session,
    /// The case on screen, rendered once; a tokio mutex, as rendering happens while it is held (a second request
    /// for the same case waits for the first rather than rendering again).
    current: tokio::sync::Mutex<Option<(u32, Arc<TrainingCase>)>>,
}

/// An API error: a status and a message naming what was wrong.
#[derive(Debug)]
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, axum::Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotShown(_) | StoreError::AlreadyAnswered(_) => ApiError(StatusCode::CONFLICT, e.to_string()),
            _ => ApiError(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
        }
    }
}

fn bad(field: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, format!("field `{field}`: {why}"))
}

fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// Serves `session` on `listener` until `shutdown` completes.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    source: Arc<dyn CaseSource>,
    store: Store,
    session: Session,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Arc::new(App { source, store: Mutex::new(store), session, current: tokio::sync::Mutex::new(None) });
    let router = Router::new()
        .route("/", get(page))
        .route("/api/session", get(session_info))
        .route("/api/case/{index}", get(case))
        .route("/api/case/{index}/image/{light}", get(image))
        .route("/api/case/{index}/chip-portrait", get(chip_portrait))
        .route("/api/answer", post(answer))
        .route("/api/report", get(report))
        .fallback(|| async { ApiError(StatusCode::NOT_FOUND, "no such page or API path".into()) })
        .with_state(app);
    axum::serve(listener, router).with_graceful_shutdown(shutdown).await
}

async fn page() -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], PAGE).into_response()
}

impl App {
    fn store(&self) -> std::sync::MutexGuard<'_, Store> {
        // A panic while holding the lock cannot leave the connection half-way: every write is a transaction.
        self.store.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn answered(&self) -> Result<u32, ApiError> {
        Ok(self.store().answered(self.session.id)?)
    }

    /// Parses a case index of the URL and checks that it is the case to examine now.
    fn current_index(&self, text: &str) -> Result<u32, ApiError> {
        let index: u32 = text.parse().map_err(|_| {
            ApiError(StatusCode::BAD_REQUEST, format!("path segment `index`: {text:?} is not a case number"))
        })?;
        self.check_current(index, "index")
    }

    fn check_current(&self, index: u32, field: &str) -> Result<u32, ApiError> {
        let answered = self.answered()?;
        if index >= self.session.cases {
            return Err(ApiError(
                StatusCode::NOT_FOUND,
                format!(
                    "`{field}`: case {index} does not exist (the session has {} cases, from 0)",
                    self.session.cases
                ),
            ));
        }
        if index != answered {
            return Err(ApiError(
                StatusCode::CONFLICT,
                format!("`{field}`: case {index} is not the case to examine now ({answered})"),
            ));
        }
        Ok(index)
    }

    /// The current case, made (and recorded as shown) on first use.
    async fn case(self: &Arc<Self>, index: u32) -> Result<Arc<TrainingCase>, ApiError> {
        let mut current = self.current.lock().await;
        if let Some((i, case)) = current.as_ref()
            && *i == index
        {
            return Ok(Arc::clone(case));
        }
        let app = Arc::clone(self);
        let made = tokio::task::spawn_blocking(move || {
            app.source.case(app.session.seed, index, app.session.day).map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, format!("making case {index}: {e}")))?
        .map_err(|e| ApiError(StatusCode::INTERNAL_SERVER_ERROR, e))?;
        self.store().record_shown(self.session.id, index, &made.key, &made.class, now_ms())?;
        let made = Arc::new(made);
        *current = Some((index, Arc::clone(&made)));
        Ok(made)
    }
}

async fn session_info(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let answered = app.answered()?;
    let s = &app.session;
    Ok(axum::Json(json!({
        "session": s.id,
        "trainee": s.trainee,
        "date": s.day.to_string(),
        "cases": s.cases,
        "answered": answered,
        "finished": answered >= s.cases,
        "genuine": GENUINE,
        "classes": s.classes,
    }))
    .into_response())
}

async fn case(State(app): State<Arc<App>>, Path(index): Path<String>) -> Result<Response, ApiError> {
    let index = app.current_index(&index)?;
    let case = app.case(index).await?;
    let lights: Vec<&str> = case.images.iter().map(|i| light_name(i.light)).collect();
    Ok(axum::Json(json!({
        "index": index,
        "cases": app.session.cases,
        "summary": case.summary,
        "lights": lights,
        "chip": case.chip,
        "mrz": case.mrz,
        "chip_portrait": case.chip_portrait.is_some(),
    }))
    .into_response())
}

async fn image(
    State(app): State<Arc<App>>,
    Path((index, light)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let index = app.current_index(&index)?;
    let wanted = light_from_name(&light).ok_or_else(|| {
        ApiError(
            StatusCode::NOT_FOUND,
            format!("path segment `light`: {light:?} is not one of white, infrared, ultraviolet"),
        )
    })?;
    let case = app.case(index).await?;
    let png = case.images.iter().find(|i| i.light == wanted).map(|i| i.png.clone()).ok_or_else(|| {
        ApiError(StatusCode::NOT_FOUND, format!("path segment `light`: case {index} has no {light} image"))
    })?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}

async fn chip_portrait(State(app): State<Arc<App>>, Path(index): Path<String>) -> Result<Response, ApiError> {
    let index = app.current_index(&index)?;
    let case = app.case(index).await?;
    let png = case
        .chip_portrait
        .clone()
        .ok_or_else(|| ApiError(StatusCode::NOT_FOUND, format!("case {index}: the chip gives no portrait")))?;
    Ok(([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "no-store")], png).into_response())
}

/// A parsed answer.
#[derive(Debug)]
struct AnswerRequest {
    case: u32,
    verdict: Verdict,
    defect: Option<String>,
    lights_viewed: Vec<String>,
}

/// Checks an answer's JSON against the session's classes: every problem names its field.
fn parse_answer(body: &[u8], classes: &[ClassInfo]) -> Result<AnswerRequest, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError(
            StatusCode::BAD_REQUEST,
            format!("body: not JSON ({e}); expected {{\"case\", \"verdict\", \"defect\"}}"),
        )
    })?;
    let object = value.as_object().ok_or_else(|| bad("body", "expected a JSON object"))?;
    let case = match object.get("case") {
        None => return Err(bad("case", "missing; expected the case number")),
        Some(v) => v
            .as_u64()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| bad("case", format!("expected a case number, got {v}")))?,
    };
    let verdict = match object.get("verdict") {
        None => return Err(bad("verdict", "missing; expected \"genuine\" or \"forged\"")),
        Some(v) => v
            .as_str()
            .and_then(Verdict::from_name)
            .ok_or_else(|| bad("verdict", format!("expected \"genuine\" or \"forged\", got {v}")))?,
    };
    let defects: Vec<&str> = classes.iter().map(|c| c.name.as_str()).filter(|n| *n != GENUINE).collect();
    let defect = match (verdict, object.get("defect")) {
        (Verdict::Genuine, None | Some(Value::Null)) => None,
        (Verdict::Genuine, Some(v)) => {
            return Err(bad("defect", format!("a genuine verdict names no defect, got {v}")));
        }
        (Verdict::Forged, None | Some(Value::Null)) => {
            return Err(bad("defect", format!("missing; a forged verdict names one of {}", defects.join(", "))));
        }
        (Verdict::Forged, Some(v)) => match v.as_str() {
            Some(name) if defects.contains(&name) => Some(name.to_owned()),
            _ => return Err(bad("defect", format!("expected one of {}, got {v}", defects.join(", ")))),
        },
    };
    let mut lights_viewed: Vec<String> = Vec::new();
    match object.get("lights_viewed") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item.as_str().and_then(light_from_name) {
                    Some(light) if !lights_viewed.iter().any(|l| l == light_name(light)) => {
                        lights_viewed.push(light_name(light).to_owned());
                    }
                    Some(_) => return Err(bad("lights_viewed", format!("{item} is listed twice"))),
                    None => {
                        return Err(bad(
                            "lights_viewed",
                            format!("expected white, infrared or ultraviolet, got {item}"),
                        ));
                    }
                }
            }
        }
        Some(v) => return Err(bad("lights_viewed", format!("expected a list of light names, got {v}"))),
    }
    let known = ["case", "verdict", "defect", "lights_viewed"];
    if let Some(unknown) = object.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad(unknown, "unknown field; expected case, verdict, defect and lights_viewed"));
    }
    Ok(AnswerRequest { case, verdict, defect, lights_viewed })
}

async fn answer(State(app): State<Arc<App>>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    // JSON only: a page of another origin cannot send that without a CORS preflight, which is never granted, so
    // no other site open in the trainee's browser can answer for them.
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json")) {
        return Err(ApiError(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("header `Content-Type`: expected application/json, got {content_type:?}"),
        ));
    }
    let request = parse_answer(&body, &app.session.classes)?;
    let index = app.check_current(request.case, "case")?;
    // The case must have been shown (and so recorded); a script that answers without looking is told so.
    let on_screen = matches!(app.current.lock().await.as_ref(), Some((i, _)) if *i == index);
    if !on_screen {
        return Err(ApiError(StatusCode::CONFLICT, format!("`case`: case {index} has not been shown yet")));
    }
    let s = &app.session;
    let finished = {
        let mut store = app.store();
        store.record_answer(
            s.id,
            index,
            request.verdict,
            request.defect.as_deref(),
            &request.lights_viewed,
            now_ms(),
        )?;
        let finished = index + 1 >= s.cases;
        if finished {
            store.finish(s.id, now_ms())?;
        }
        finished
    };
    tracing::info!(session = s.id, case = index, finished, "answer recorded");
    Ok(axum::Json(json!({ "recorded": index, "next": (!finished).then_some(index + 1), "finished": finished }))
        .into_response())
}

async fn report(State(app): State<Arc<App>>) -> Result<Response, ApiError> {
    let report = app.store().report(app.session.id)?;
    Ok(axum::Json(report).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classes() -> Vec<ClassInfo> {
        vec![ClassInfo::new(GENUINE, "G"), ClassInfo::new("expired", "E"), ClassInfo::new("stolen-blank", "S")]
    }

    fn error(body: &str) -> String {
        let e = parse_answer(body.as_bytes(), &classes()).unwrap_err();
        assert_eq!(e.0, StatusCode::BAD_REQUEST, "{}", e.1);
        e.1
    }

    #[test]
    fn answers_parse() {
        let a = parse_answer(br#"{"case": 3, "verdict": "forged", "defect": "expired"}"#, &classes()).unwrap();
        assert_eq!((a.case, a.verdict, a.defect.as_deref()), (3, Verdict::Forged, Some("expired")));
        let a = parse_answer(br#"{"case": 0, "verdict": "genuine", "defect": null}"#, &classes()).unwrap();
        assert_eq!((a.case, a.verdict, a.defect), (0, Verdict::Genuine, None));
        let body = br#"{"case": 0, "verdict": "genuine", "lights_viewed": ["ultraviolet", "white"]}"#;
        assert_eq!(parse_answer(body, &classes()).unwrap().lights_viewed, ["ultraviolet", "white"]);
    }

    proptest::proptest! {
        #[test]
        fn any_body_is_parsed_or_refused_without_a_panic(
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            let _ = parse_answer(&body, &classes());
        }

        #[test]
        fn any_json_answer_is_parsed_or_refused_by_field(
            case in proptest::option::of(-2i64..5_000_000_000),
            verdict in proptest::option::of("genuine|forged|[a-z]{0,8}"),
            defect in proptest::option::of("expired|stolen-blank|genuine|[a-z-]{0,12}"),
        ) {
            let mut object = serde_json::Map::new();
            if let Some(c) = case { object.insert("case".into(), json!(c)); }
            if let Some(v) = &verdict { object.insert("verdict".into(), json!(v)); }
            if let Some(d) = &defect { object.insert("defect".into(), json!(d)); }
            match parse_answer(Value::Object(object).to_string().as_bytes(), &classes()) {
                Ok(a) => {
                    proptest::prop_assert_eq!(Some(i64::from(a.case)), case);
                    proptest::prop_assert_eq!(Some(a.verdict.name()), verdict.as_deref());
                    proptest::prop_assert_eq!(a.defect, defect.filter(|_| a.verdict == Verdict::Forged));
                }
                Err(ApiError(status, message)) => {
                    proptest::prop_assert_eq!(status, StatusCode::BAD_REQUEST);
                    proptest::prop_assert!(message.starts_with("field `"), "{}", message);
                }
            }
        }
    }

    #[test]
    fn malformed_answers_name_the_field() {
        for (body, field) in [
            ("", "body"),
            ("[1]", "body"),
            (r#"{"verdict": "genuine"}"#, "`case`"),
            (r#"{"case": -1, "verdict": "genuine"}"#, "`case`"),
            (r#"{"case": "2", "verdict": "genuine"}"#, "`case`"),
            (r#"{"case": 1}"#, "`verdict`"),
            (r#"{"case": 1, "verdict": "maybe"}"#, "`verdict`"),
            (r#"{"case": 1, "verdict": "forged"}"#, "`defect`"),
            (r#"{"case": 1, "verdict": "forged", "defect": "genuine"}"#, "`defect`"),
            (r#"{"case": 1, "verdict": "forged", "defect": "fantasy"}"#, "`defect`"),
            (r#"{"case": 1, "verdict": "genuine", "defect": "expired"}"#, "`defect`"),
            (r#"{"case": 1, "verdict": "genuine", "hint": 1}"#, "`hint`"),
            (r#"{"case": 1, "verdict": "genuine", "lights_viewed": "white"}"#, "`lights_viewed`"),
            (r#"{"case": 1, "verdict": "genuine", "lights_viewed": ["x-ray"]}"#, "`lights_viewed`"),
            (r#"{"case": 1, "verdict": "genuine", "lights_viewed": ["white", "white"]}"#, "`lights_viewed`"),
        ] {
            let message = error(body);
            assert!(message.contains(field), "{body}: {message}");
        }
    }
}
