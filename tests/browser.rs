//! The QA web UI in a real browser: a real call with speech (baresip dictates a LibriVox
//! sentence into the `dictation` dialplan, Whisper transcribes it), then headless Chromium,
//! driven over the WebDriver protocol by chromedriver, signs in as a QA reviewer, finds the call
//! by a word it said, opens it, plays it and watches the transcript highlight follow the audio,
//! seeks by clicking a line and the waveform, scores and comments (once the scorecard API
//! exists), and saves a screenshot; then an agent is refused another agent's call with a clear
//! page. Chromium and chromedriver are always stopped, whatever fails.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use chrono::Utc;
use sb_store::{NewCall, Store};
use serde_json::{Value, json};
use switchboard_e2e::api_client::{Client, offline_cli};
use switchboard_e2e::baresip::Baresip;
use switchboard_e2e::tools::{require_tool, sox, speech_file, wav_seconds};
use switchboard_e2e::{Gateway, free_port, repo, speech_config};

const QA_PASSWORD: &str = "quinn reviews calls";
const AGENT_PASSWORD: &str = "ann takes calls";
/// "and mister john dashwood had then leisure to consider how much there might be prudently in
/// his power to do for them" (7.1 s).
const DICTATED: &str = "librivox/sense_and_sensibility_01_austen_64kb-0870.wav";
/// The message an agent gets for a call that is not theirs.
const NOT_YOURS: &str = "You cannot open this call (it belongs to another agent)";
/// How long one step in the page may take.
const STEP: Duration = Duration::from_secs(10);
/// WebDriver's name for an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Where screenshots go: `$CARGO_TARGET_DIR/artifacts/browser`.
fn artifacts() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let dir = target.join("artifacts/browser");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// chromedriver with one headless Chromium session; both are stopped when dropped.
struct Browser {
    driver: Child,
    http: ureq::Agent,
    /// `http://127.0.0.1:<port>/session/<id>`.
    session: String,
    /// The web UI's origin.
    origin: String,
    profile: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver on a free port and a fresh Chromium profile, 1366x768.
    fn start(origin: &str) -> Browser {
        require_tool("chromedriver", "chromium-driver");
        let port = free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Its own process group, so the drop guard can stop Chromium with it.
            .process_group(0)
            .spawn()
            .unwrap();
        let http: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        let profile = tempfile::tempdir().unwrap();
        let mut browser = Browser {
            driver,
            http,
            session: format!("http://127.0.0.1:{port}"),
            origin: origin.to_string(),
            profile,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while browser
            .http
            .get(format!("{}/status", browser.session))
            .call()
            .is_err()
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
            "--window-size=1366,768",
        ]
        .map(String::from)
        .into_iter()
        .chain([format!(
            "--user-data-dir={}",
            browser.profile.path().display()
        )])
        .collect::<Vec<_>>();
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": "/usr/bin/chromium", "args": args},
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let created = browser.raw("POST", "/session", Some(&capabilities));
        let id = created["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("chromedriver made no session: {created}"))
            .to_string();
        browser.session = format!("{}/session/{id}", browser.session);
        browser
    }

    /// One WebDriver request to `base + path`; the whole JSON answer.
    fn raw(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let base = self.session.split("/session/").next().unwrap();
        let url = if path == "/session" {
            format!("{base}{path}")
        } else {
            format!("{}{path}", self.session)
        };
        let answer = match (method, body) {
            ("GET", _) => self.http.get(&url).call(),
            ("DELETE", _) => self.http.delete(&url).call(),
            (_, body) => self
                .http
                .post(&url)
                .header("Content-Type", "application/json")
                .send(body.unwrap_or(&json!({})).to_string()),
        };
        let mut answer = answer.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let text = answer.body_mut().read_to_string().unwrap();
        serde_json::from_str(&text).unwrap_or_else(|_| json!({ "value": text }))
    }

    /// A WebDriver command of this session; its `value`, or a failure with the page's state.
    fn command(&self, method: &str, path: &str, body: Option<&Value>) -> Value {
        let answer = self.raw(method, path, body);
        if let Some(error) = answer["value"]["error"].as_str() {
            self.fail(&format!(
                "WebDriver {method} {path}: {error}: {}",
                answer["value"]["message"]
            ));
        }
        answer["value"].clone()
    }

    /// Opens a path of the web UI.
    fn open(&self, path: &str) {
        let url = format!("{}{path}", self.origin);
        self.command("POST", "/url", Some(&json!({ "url": url })));
    }

    /// Runs `script` (a function body; `arguments` are `args`) in the page; awaits a promise.
    fn run(&self, script: &str, args: Value) -> Value {
        self.command(
            "POST",
            "/execute/sync",
            Some(&json!({ "script": script, "args": args })),
        )
    }

    /// Runs `script` until it returns something truthy, which is returned; fails after
    /// [`STEP`] with `what` was awaited.
    fn wait(&self, what: &str, script: &str, args: Value) -> Value {
        let deadline = Instant::now() + STEP;
        loop {
            let value = self.run(script, args.clone());
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64() != Some(0.0),
                _ => true,
            };
            if truthy {
                return value;
            }
            if Instant::now() > deadline {
                self.fail(&format!("waited {STEP:?} for {what}; last: {value}"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the element at `css` and returns its reference.
    fn find(&self, css: &str) -> String {
        self.wait(
            &format!("an element {css}"),
            "return document.querySelector(arguments[0]) ? true : null",
            json!([css]),
        );
        let found = self.command(
            "POST",
            "/element",
            Some(&json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT].as_str().unwrap().to_string()
    }

    /// Clicks the element at `css` as a person would (scrolled into view, at its centre).
    fn click(&self, css: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/click"),
            Some(&json!({})),
        );
    }

    /// Clears the field at `css` and types `text` into it.
    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.command(
            "POST",
            &format!("/element/{element}/clear"),
            Some(&json!({})),
        );
        self.command(
            "POST",
            &format!("/element/{element}/value"),
            Some(&json!({ "text": text })),
        );
    }

    /// The visible text of the element at `css` ("" when there is none).
    fn text(&self, css: &str) -> String {
        self.run(
            "const e = document.querySelector(arguments[0]); return e ? e.innerText : ''",
            json!([css]),
        )
        .as_str()
        .unwrap_or_default()
        .to_string()
    }

    /// Saves a PNG of the window as `name` in the artifacts folder; returns its path.
    fn screenshot(&self, name: &str) -> PathBuf {
        let answer = self.raw("GET", "/screenshot", None);
        let png = base64::engine::general_purpose::STANDARD
            .decode(answer["value"].as_str().unwrap_or_default())
            .unwrap_or_default();
        let path = artifacts().join(name);
        std::fs::write(&path, &png).unwrap();
        path
    }

    /// Fails the test with what the page showed: URL, text, console errors and a screenshot.
    fn fail(&self, what: &str) -> ! {
        let shot = self.screenshot("failure.png");
        let url = self.raw("GET", "/url", None)["value"].clone();
        let text = self.raw(
            "POST",
            "/execute/sync",
            Some(&json!({"script": "return document.body ? document.body.innerText : ''", "args": []})),
        )["value"]
            .clone();
        let source = self.raw("GET", "/source", None)["value"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(6000)
            .collect::<String>();
        let console = self.raw("POST", "/se/log", Some(&json!({"type": "browser"})))["value"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|l| l["level"] == "SEVERE" || l["level"] == "WARNING")
            .map(|l| l["message"].to_string())
            .collect::<Vec<_>>()
            .join("\n");
        panic!(
            "{what}\nat {url}\nscreenshot: {}\npage text:\n{}\nconsole:\n{console}\npage source:\n{source}",
            shot.display(),
            text.as_str().unwrap_or_default()
        );
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.session.contains("/session/") {
            // Closes Chromium cleanly; the group kill below catches what did not close.
            let _ = self.http.delete(&self.session).call();
        }
        let _ = Command::new("kill")
            .args(["-KILL", &format!("-{}", self.driver.id())])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// The `[[user]]` entries: `quinn` reviews (qa), `ann` is an agent.
fn users() -> String {
    let qa = offline_cli(&["user", "hash-password"], QA_PASSWORD);
    let agent = offline_cli(&["user", "hash-password"], AGENT_PASSWORD);
    format!(
        "\n[[user]]\nname = \"quinn\"\nrole = \"qa\"\npassword_hash = \"{}\"\n\n[[user]]\nname = \"ann\"\nrole = \"agent\"\npassword_hash = \"{}\"\n",
        qa.trim(),
        agent.trim()
    )
}

/// 8 kHz mono: 3 s of silence, the dictated sentence, then silence to 20 s (baresip hangs up
/// when the file ends, after the dialplan's goodbye).
fn caller_voice(dir: &Path) -> PathBuf {
    let voice = dir.join("voice.wav");
    let source = speech_file(DICTATED);
    let tail = format!("{:.3}", 17.0 - wav_seconds(&source));
    sox(&[
        source.to_str().unwrap(),
        "-r",
        "8000",
        "-c",
        "1",
        "-b",
        "16",
        voice.to_str().unwrap(),
        "pad",
        "3",
        &tail,
    ]);
    voice
}

/// A finished call taken by agent `ben`, written by the store's own writer: not Ann's.
fn seed_bens_call(gw: &Gateway) -> String {
    let url = format!("sqlite:{}", gw.dir.path().join("switchboard.db").display());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let store = Store::open(&url).await.unwrap();
        let w = store.writer();
        let id = sb_store::new_call_id();
        let started_at = Utc::now() - chrono::Duration::minutes(5);
        w.call_started(NewCall {
            id: id.clone(),
            from_uri: "sip:+15550009@trunk.example".into(),
            to_uri: "sip:200@switchboard".into(),
            dialplan: Some("assistant".into()),
            started_at,
            recording_path: None,
        });
        w.call_answered(&id, started_at);
        w.call_agent(&id, "ben");
        w.call_ended(&id, started_at + chrono::Duration::seconds(30), "completed");
        w.flush().await;
        store.close().await;
        id
    })
}

/// The longest word of the caller's line: what the reviewer searches for.
fn word_said(call: &Value) -> String {
    let caller = call["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["speaker"] == "caller")
        .filter_map(|l| l["text"].as_str())
        .collect::<Vec<_>>()
        .join(" ");
    caller
        .split(|c: char| !c.is_alphabetic())
        .max_by_key(|w| w.len())
        .filter(|w| w.len() >= 5)
        .unwrap_or_else(|| panic!("no word to search for in the caller's lines: {call:#}"))
        .to_lowercase()
}

/// The index of the first transcript line marked `current`, or -1.
const CURRENT_LINE: &str = "return [...document.querySelectorAll('[data-testid=transcript-line]')]\
     .findIndex((l) => l.classList.contains('current'))";

/// The audio's position in seconds.
fn position(browser: &Browser) -> f64 {
    browser
        .run(
            "return document.querySelector('audio').currentTime",
            json!([]),
        )
        .as_f64()
        .unwrap()
}

#[test]
fn a_reviewer_finds_plays_and_scores_a_call_and_an_agent_is_refused_another_agents_call() {
    let started = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    let voice = caller_voice(dir.path());
    let gw = Gateway::start_with_default_dialplan(
        &repo().join("tests/data/speech"),
        "dictation",
        &format!("{}{}", speech_config(), users()),
    );
    assert!(
        gw.log().contains(&format!("web UI:    http://{}/", gw.web)),
        "start-up says where the UI is:\n{}",
        gw.log()
    );
    let phone_dir = dir.path().join("baresip");
    std::fs::create_dir(&phone_dir).unwrap();
    let phone = Baresip::dial(&phone_dir, &voice, &format!("sip:100@{}", gw.addr), None);
    // The browser starts while the call runs.
    let browser = Browser::start(&format!("http://{}", gw.web));

    let calls = gw.wait_for_ended_calls(1, Duration::from_secs(60));
    let id = calls[0]["id"].as_str().unwrap().to_string();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut call = gw.call(&id);
    while !call["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .any(|l| l["speaker"] == "caller")
    {
        assert!(
            Instant::now() < deadline,
            "no caller line in the transcript: {call:#}\nbaresip:\n{}\ngateway:\n{}",
            phone.log(),
            gw.log()
        );
        std::thread::sleep(Duration::from_millis(200));
        call = gw.call(&id);
    }
    drop(phone);
    let word = word_said(&call);
    let bens = seed_bens_call(&gw);
    let lines = call["transcript"].as_array().unwrap().len();
    println!(
        "call {id} ended with {lines} transcript lines after {:.1} s; searching for {word:?}",
        started.elapsed().as_secs_f64()
    );

    // Signed out, the list sends to sign-in; a wrong password is refused in words.
    browser.open("/calls");
    browser.find("[data-testid=signin-form]");
    browser.type_into("[data-testid=signin-name]", "quinn");
    browser.type_into("[data-testid=signin-password]", "not the password");
    browser.click("[data-testid=signin-submit]");
    browser.wait(
        "the sign-in error",
        "const e = document.querySelector('[data-testid=signin-error]'); \
         return e && !e.hidden && e.innerText.includes('wrong name or password')",
        json!([]),
    );
    browser.type_into("[data-testid=signin-password]", QA_PASSWORD);
    browser.click("[data-testid=signin-submit]");
    browser.wait(
        "the list after sign-in",
        "return location.pathname === '/calls' && document.querySelector('[data-testid=call-row]')",
        json!([]),
    );
    assert_eq!(browser.text("[data-testid=user-name]"), "quinn");
    assert_eq!(browser.text("[data-testid=user-role]").to_lowercase(), "qa");
    assert!(
        browser
            .run(
                "return document.querySelector('[data-testid=nav-reports]').hidden",
                json!([])
            )
            .as_bool()
            .unwrap(),
        "reports are not offered to QA"
    );

    // The search finds the call by a word said in it, the URL carries it, Ben's call is out.
    browser.type_into("[data-testid=filter-q]", &word);
    browser.click("[data-testid=search]");
    let found = browser.wait(
        "the search result",
        "const rows = [...document.querySelectorAll('[data-testid=call-row]')]; \
         return new URLSearchParams(location.search).get('q') === arguments[0] \
           && document.querySelector('[data-testid=list-status]').innerText.match(/^\\d+ call/) \
           && rows.map((r) => r.dataset.callId)",
        json!([word]),
    );
    assert_eq!(found, json!([id]), "searching {word:?} finds the call");

    // Open it; back returns to the search, forward to the call.
    browser.click("[data-testid=call-link]");
    browser.wait(
        "the call page",
        "return document.querySelectorAll('[data-testid=transcript-line]').length === arguments[0] \
           && document.querySelector('[data-testid=wave]').dataset.ready === 'true'",
        json!([lines]),
    );
    browser.command("POST", "/back", Some(&json!({})));
    browser.wait(
        "the search again after going back",
        "return document.querySelector('[data-testid=filter-q]')?.value === arguments[0] \
           && document.querySelector('[data-testid=call-row]')",
        json!([word]),
    );
    browser.command("POST", "/forward", Some(&json!({})));
    browser.wait(
        "the call page again",
        "return document.querySelector('[data-testid=wave]')?.dataset.ready === 'true'",
        json!([]),
    );
    assert!(
        browser
            .text("[data-testid=transcript]")
            .contains("Welcome."),
        "the bot's greeting is in the transcript"
    );

    // Play: the highlight appears on a line and moves on to a later one as the audio runs.
    browser.run("return document.querySelector('audio').play()", json!([]));
    let first = browser.wait(
        "a current line while playing",
        &format!("const i = (() => {{ {CURRENT_LINE} }})(); return i >= 0 ? i + 1 : null"),
        json!([]),
    );
    let first = first.as_i64().unwrap() - 1;
    let later = browser.wait(
        "the highlight to move to a later line",
        &format!(
            "const i = (() => {{ {CURRENT_LINE} }})(); return i > arguments[0] ? i + 1 : null"
        ),
        json!([first]),
    );
    let later = later.as_i64().unwrap() - 1;
    assert!(position(&browser) > 0.5, "the audio advanced");
    browser.run("document.querySelector('audio').pause()", json!([]));
    println!("while playing, the highlight moved from line {first} to line {later}");

    // A click on the last line seeks to its start and marks it; a click on the waveform's
    // middle seeks to the middle of the recording.
    let last = lines - 1;
    browser.click(&format!(
        "[data-testid=transcript-line]:nth-child({}) .text",
        last + 1
    ));
    let start_ms = call["transcript"][last]["start_ms"].as_f64().unwrap();
    let at = position(&browser);
    assert!(
        (at - start_ms / 1000.0).abs() < 0.1,
        "clicking line {last} seeks to its start {start_ms} ms, the audio is at {at} s"
    );
    browser.wait(
        "the clicked line to be current",
        &format!("return (() => {{ {CURRENT_LINE} }})() === arguments[0]"),
        json!([last]),
    );
    browser.click("[data-testid=wave]");
    let duration = browser
        .run("return document.querySelector('audio').duration", json!([]))
        .as_f64()
        .unwrap();
    let at = position(&browser);
    assert!(
        (at - duration / 2.0).abs() < duration * 0.03,
        "clicking the waveform's middle seeks to about {:.2} s of {duration:.2} s, not {at:.2} s",
        duration / 2.0
    );
    assert!(
        browser
            .run(
                "return document.querySelectorAll('[data-testid=frustration-point]').length",
                json!([])
            )
            .as_u64()
            .unwrap()
            >= 1,
        "the caller's frustration is on the timeline"
    );

    // Answer every criterion (yes, or 4 of 5), with a note, and submit.
    let criteria = browser.run(
        "return [...document.querySelectorAll('[data-testid=criterion]')]\
           .map((c) => [c.dataset.criterion, c.classList.contains('scale') ? '4' : 'yes'])",
        json!([]),
    );
    for pair in criteria.as_array().unwrap() {
        browser.click(&format!(
            "[data-testid=answer-{}-{}]",
            pair[0].as_str().unwrap(),
            pair[1].as_str().unwrap()
        ));
    }
    browser.type_into("[data-testid=score-note]", "Clear dictation, polite bot.");
    browser.click("[data-testid=score-submit]");
    browser.wait(
        "the score to be saved",
        "return document.querySelector('[data-testid=score-status]').innerText.startsWith('Saved') \
           && [...document.querySelectorAll('[data-testid=score]')].some((s) => s.innerText.includes('quinn'))",
        json!([]),
    );
    let qa = Client::sign_in(&gw, "quinn", QA_PASSWORD);
    let scores = qa.json(&format!("/api/calls/{id}/scores"));
    assert_eq!(scores["scores"][0]["reviewer"], "quinn", "{scores}");
    assert_eq!(
        scores["scores"][0]["note"], "Clear dictation, polite bot.",
        "{scores}"
    );

    // A comment at 4.2 s; a click on it seeks back there.
    browser.run(
        "document.querySelector('audio').currentTime = 4.2",
        json!([]),
    );
    browser.type_into(
        "[data-testid=comment-text]",
        "The caller reads a name here.",
    );
    browser.click("[data-testid=comment-submit]");
    browser.wait(
        "the comment in the list",
        "return [...document.querySelectorAll('[data-testid=comment]')]\
           .some((c) => c.innerText.includes('0:04.2') && c.innerText.includes('reads a name'))",
        json!([]),
    );
    browser.run("document.querySelector('audio').currentTime = 0", json!([]));
    browser.click("[data-testid=comment] .ts");
    assert!((position(&browser) - 4.2).abs() < 0.05, "the comment seeks");
    let shot = browser.screenshot("call-page.png");
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "a real screenshot"
    );
    println!("screenshot of the call page: {}", shot.display());

    // The agent: their list is their own (empty here), another agent's call is refused in
    // words, an unknown call is said to be unknown.
    browser.click("[data-testid=sign-out]");
    browser.find("[data-testid=signin-form]");
    browser.type_into("[data-testid=signin-name]", "ann");
    browser.type_into("[data-testid=signin-password]", AGENT_PASSWORD);
    browser.click("[data-testid=signin-submit]");
    browser.wait(
        "the agent's empty list",
        "return document.querySelector('[data-testid=list-status]')?.innerText === '0 calls'",
        json!([]),
    );
    assert_eq!(
        browser.text("[data-testid=user-role]").to_lowercase(),
        "agent"
    );
    browser.open(&format!("/calls/{bens}"));
    let refused = browser.wait(
        "the refusal",
        "return document.querySelector('[data-testid=forbidden]')?.innerText",
        json!([]),
    );
    assert!(
        refused.as_str().unwrap().contains(NOT_YOURS),
        "the agent is told why: {refused}"
    );
    let shot = browser.screenshot("agent-refused.png");
    println!("screenshot of the refusal: {}", shot.display());
    browser.open("/calls/no-such-call");
    browser.find("[data-testid=no-such-call]");
    println!(
        "browser test done in {:.1} s",
        started.elapsed().as_secs_f64()
    );
}
