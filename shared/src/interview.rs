//! The interview around the code: interviewer controls (timer, runs on/off, editor lock), chat,
//! the interviewers' private notes and scorecards, the replay timeline, and the Markdown export.
//!
//! Plain data and pure functions; `tandem-room` stores them (controls and chat in the session
//! record, notes and scorecards in the interviewers' private record) and enforces who may write
//! them. The JSON shapes are the ones the UI receives.

use serde::{Deserialize, Serialize};

/// Session-record map that holds the signed interviewer controls, keyed by signer (hex).
pub const CONTROLS_KEY: &str = "controls";
/// Session-record list of chat messages.
pub const CHAT_KEY: &str = "chat";
/// Longest chat message accepted (bytes).
pub const MAX_CHAT_LEN: usize = 4000;
/// Longest private notes accepted (bytes).
pub const MAX_NOTES_LEN: usize = 200_000;
/// An insertion of at least this many UTF-16 units in one update is flagged as a large paste.
pub const LARGE_PASTE_UNITS: u32 = 120;
/// An absence (window without focus) at least this long is flagged on the timeline.
pub const LONG_ABSENCE_MS: u64 = 10_000;

/// The shared countdown. Every peer computes the same remaining time from the same state (up
/// to clock skew), so nothing ticks over the network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TimerState {
    /// Total time allowed (grows with `extend`).
    pub duration_ms: u64,
    /// Time consumed before the current run of the clock.
    pub elapsed_ms: u64,
    /// When the clock was last started (ms since the Unix epoch); `None` while paused.
    pub running_since_ms: Option<u64>,
}

impl TimerState {
    pub fn new(duration_ms: u64) -> Self {
        Self {
            duration_ms,
            ..Default::default()
        }
    }

    pub fn running(&self) -> bool {
        self.running_since_ms.is_some()
    }

    /// Time used at `now_ms`.
    pub fn elapsed_at(&self, now_ms: u64) -> u64 {
        self.elapsed_ms + self.running_since_ms.map_or(0, |s| now_ms.saturating_sub(s))
    }

    /// Time left at `now_ms` (0 once over).
    pub fn remaining_at(&self, now_ms: u64) -> u64 {
        self.duration_ms.saturating_sub(self.elapsed_at(now_ms))
    }

    pub fn start(&mut self, now_ms: u64) {
        if self.running_since_ms.is_none() {
            self.running_since_ms = Some(now_ms);
        }
    }

    pub fn pause(&mut self, now_ms: u64) {
        if let Some(s) = self.running_since_ms.take() {
            self.elapsed_ms += now_ms.saturating_sub(s);
        }
    }

    pub fn extend(&mut self, by_ms: u64) {
        self.duration_ms = self.duration_ms.saturating_add(by_ms);
    }
}

/// What interviewers control for the whole room. Signed by an interviewer ([`SignedControls`]);
/// every peer reads the newest valid one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Controls {
    /// Room id these controls are for.
    pub room: String,
    /// When they were signed (a Lamport clock over wall time, like statements).
    pub at_ms: u64,
    #[serde(default)]
    pub timer: Option<TimerState>,
    /// Runs (and submits) allowed. The node enforces it too, through the signed run settings.
    #[serde(default = "yes")]
    pub runs_enabled: bool,
    /// The editor is locked: candidates were made read-only by signed `set_role` statements
    /// (enforced by every peer like any read-only member).
    #[serde(default)]
    pub editor_locked: bool,
    /// Members the lock made read-only (given the edit right back on unlock).
    #[serde(default)]
    pub locked_members: Vec<String>,
}

fn yes() -> bool {
    true
}

impl Controls {
    /// The controls of a room nobody changed yet.
    pub fn initial(room: &str) -> Self {
        Self {
            room: room.into(),
            at_ms: 0,
            timer: None,
            runs_enabled: true,
            editor_locked: false,
            locked_members: Vec::new(),
        }
    }

    /// The exact bytes an interviewer signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = b"tandem-controls-v1\0".to_vec();
        out.extend(serde_json::to_vec(self).unwrap_or_default());
        out
    }
}

/// [`Controls`] with the signature of the interviewer who set them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedControls {
    pub controls: Controls,
    /// Hex public key of the signer.
    pub signer: String,
    /// Hex ed25519 signature over [`Controls::signing_bytes`].
    pub signature: String,
}

/// One chat message. `by` is the author of the automerge change that inserted it (not a field
/// the author writes), so nobody can post in someone else's name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub id: String,
    pub at_ms: u64,
    /// Hex endpoint id of the author.
    pub by: String,
    /// Display name the author gave.
    pub name: String,
    pub text: String,
}

/// One criterion of a scorecard: a score from 1 (strong no) to 4 (strong yes), 0 = not scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Criterion {
    pub name: String,
    #[serde(default)]
    pub score: u8,
    #[serde(default)]
    pub comment: String,
}

/// An interviewer's rubric scorecard (private to interviewers).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Scorecard {
    #[serde(default)]
    pub criteria: Vec<Criterion>,
    /// `strong_no`, `no`, `yes`, `strong_yes` or empty.
    #[serde(default)]
    pub recommendation: String,
    #[serde(default)]
    pub summary: String,
}

impl Scorecard {
    /// The default rubric.
    pub fn rubric() -> Self {
        Self {
            criteria: ["problem_solving", "code_quality", "communication", "testing"]
                .into_iter()
                .map(|n| Criterion {
                    name: n.into(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// Checks sizes and ranges so a bad scorecard is refused with a reason, not stored.
    pub fn validate(&self) -> Result<(), String> {
        if self.criteria.len() > 32 {
            return Err("a scorecard has at most 32 criteria".into());
        }
        for c in &self.criteria {
            if c.score > 4 {
                return Err(format!("score {} of {:?} is not between 0 and 4", c.score, c.name));
            }
            if c.name.len() > 200 || c.comment.len() > 10_000 {
                return Err(format!("criterion {:?} is too long", c.name));
            }
        }
        if !matches!(
            self.recommendation.as_str(),
            "" | "strong_no" | "no" | "yes" | "strong_yes"
        ) {
            return Err(format!("unknown recommendation {:?}", self.recommendation));
        }
        if self.summary.len() > MAX_NOTES_LEN {
            return Err("the summary is too long".into());
        }
        Ok(())
    }
}

/// One interviewer's private notes and scorecard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct PrivateEntry {
    /// Hex endpoint id of the interviewer.
    pub member: String,
    pub notes: String,
    pub scorecard: Option<Scorecard>,
}

/// One entry of the replay history: a code update as this peer applied it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryUpdate {
    /// When this peer applied it (ms since the Unix epoch).
    pub at_ms: u64,
    /// Hex endpoint id of its author (empty when unknown, e.g. a snapshot from before history).
    pub author: String,
    /// lib0 v1 Yjs update, base64 (standard alphabet) in JSON.
    #[serde(with = "b64")]
    pub update: Vec<u8>,
}

mod b64 {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}

/// A presence change that matters for the replay: a member's window lost or regained focus.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AwayEvent {
    pub at_ms: u64,
    pub member: String,
    pub away: bool,
}

/// What happened at one moment, on one participant's track.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Marker {
    /// An edit: UTF-16 units inserted, whether it deleted anything.
    Edit {
        at_ms: u64,
        member: String,
        inserted: u32,
        deleted: bool,
    },
    /// One update inserted at least [`LARGE_PASTE_UNITS`].
    Paste { at_ms: u64, member: String, inserted: u32 },
    /// A run or a submit (from the run history).
    Run {
        at_ms: u64,
        member: String,
        run_kind: String,
        verdict: String,
        run_id: String,
    },
    /// The member's window had no focus from `at_ms` to `until_ms` (≥ [`LONG_ABSENCE_MS`]).
    Away { at_ms: u64, member: String, until_ms: u64 },
}

impl Marker {
    pub fn at_ms(&self) -> u64 {
        match self {
            Marker::Edit { at_ms, .. }
            | Marker::Paste { at_ms, .. }
            | Marker::Run { at_ms, .. }
            | Marker::Away { at_ms, .. } => *at_ms,
        }
    }
    pub fn member(&self) -> &str {
        match self {
            Marker::Edit { member, .. }
            | Marker::Paste { member, .. }
            | Marker::Run { member, .. }
            | Marker::Away { member, .. } => member,
        }
    }
}

/// One participant's row on the timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Track {
    pub member: String,
    pub name: String,
    pub role: String,
    pub markers: Vec<Marker>,
}

/// The whole session as the replay view draws it. The code at any moment is rebuilt from
/// `updates` (apply, in order, those with `at_ms <= t`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Timeline {
    pub start_ms: u64,
    pub end_ms: u64,
    pub tracks: Vec<Track>,
    pub updates: Vec<HistoryUpdate>,
}

/// Per-update facts the timeline needs, computed by the room (it can decode yrs updates).
#[derive(Debug, Clone)]
pub struct UpdateFacts {
    pub at_ms: u64,
    pub author: String,
    pub inserted: u32,
    pub deleted: bool,
}

/// A run, for the timeline and the summary.
#[derive(Debug, Clone)]
pub struct RunFact {
    pub at_ms: u64,
    pub member: String,
    pub kind: String,
    pub verdict: String,
    pub run_id: String,
}

impl From<crate::room::RunRecord> for RunFact {
    fn from(r: crate::room::RunRecord) -> Self {
        RunFact {
            at_ms: r.at_ms,
            member: r.by,
            kind: r.kind,
            verdict: r.verdict,
            run_id: r.run_id,
        }
    }
}

/// Builds the tracks: one per participant (`people`: member, name, role), edits and pastes
/// from `updates`, runs, and absences of at least [`LONG_ABSENCE_MS`] from `away` (an absence
/// still open at the end runs to `end_ms`).
pub fn build_tracks(
    people: &[(String, String, String)],
    updates: &[UpdateFacts],
    runs: &[RunFact],
    away: &[AwayEvent],
    end_ms: u64,
) -> Vec<Track> {
    let mut tracks: Vec<Track> = people
        .iter()
        .map(|(m, n, r)| Track {
            member: m.clone(),
            name: n.clone(),
            role: r.clone(),
            markers: Vec::new(),
        })
        .collect();
    fn track<'a>(tracks: &'a mut Vec<Track>, member: &str) -> &'a mut Track {
        if let Some(i) = tracks.iter().position(|t| t.member == member) {
            return &mut tracks[i];
        }
        tracks.push(Track {
            member: member.into(),
            name: String::new(),
            role: String::new(),
            markers: Vec::new(),
        });
        tracks.last_mut().expect("just pushed")
    }
    for u in updates.iter().filter(|u| !u.author.is_empty()) {
        let t = track(&mut tracks, &u.author);
        if u.inserted >= LARGE_PASTE_UNITS {
            t.markers.push(Marker::Paste {
                at_ms: u.at_ms,
                member: u.author.clone(),
                inserted: u.inserted,
            });
        } else {
            t.markers.push(Marker::Edit {
                at_ms: u.at_ms,
                member: u.author.clone(),
                inserted: u.inserted,
                deleted: u.deleted,
            });
        }
    }
    for r in runs {
        track(&mut tracks, &r.member).markers.push(Marker::Run {
            at_ms: r.at_ms,
            member: r.member.clone(),
            run_kind: r.kind.clone(),
            verdict: r.verdict.clone(),
            run_id: r.run_id.clone(),
        });
    }
    let mut open: std::collections::HashMap<&str, u64> = Default::default();
    let mut sorted: Vec<&AwayEvent> = away.iter().collect();
    sorted.sort_by_key(|e| e.at_ms);
    let mut absences = Vec::new();
    for e in sorted {
        if e.away {
            open.entry(e.member.as_str()).or_insert(e.at_ms);
        } else if let Some(since) = open.remove(e.member.as_str()) {
            absences.push((e.member.clone(), since, e.at_ms));
        }
    }
    for (m, since) in open {
        absences.push((m.to_string(), since, end_ms.max(since)));
    }
    for (member, since, until) in absences {
        if until.saturating_sub(since) >= LONG_ABSENCE_MS {
            track(&mut tracks, &member).markers.push(Marker::Away {
                at_ms: since,
                member: member.clone(),
                until_ms: until,
            });
        }
    }
    for t in &mut tracks {
        t.markers.sort_by_key(Marker::at_ms);
    }
    tracks
}

/// Everything the Markdown export shows.
#[derive(Debug, Clone, Default)]
pub struct SessionSummary {
    pub room: String,
    pub problem: Option<String>,
    pub language: Option<String>,
    pub start_ms: u64,
    pub end_ms: u64,
    /// (name, role, member)
    pub participants: Vec<(String, String, String)>,
    pub runs: Vec<RunFact>,
    pub chat: Vec<ChatMessage>,
    pub timer: Option<TimerState>,
    pub private: Vec<PrivateEntry>,
    /// Flagged moments (pastes, absences) for the reader's attention.
    pub flags: Vec<Marker>,
    /// Final code per file.
    pub files: Vec<(String, String)>,
}

fn iso(ms: u64) -> String {
    // Civil date from days since the epoch (Howard Hinnant's algorithm); no time crate needed.
    let secs = ms / 1000;
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}

fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{:02}:{:02}:{:02}", s / 3600, (s % 3600) / 60, s % 60)
}

/// Markdown table cells may not contain pipes or newlines.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace(['\n', '\r'], " ")
}

fn name_of<'a>(s: &'a SessionSummary, member: &'a str) -> &'a str {
    s.participants
        .iter()
        .find(|(_, _, m)| m == member)
        .map(|(n, _, _)| n.as_str())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| member.get(..8).unwrap_or(member))
}

/// The session summary and every interviewer's scorecard and notes, as Markdown.
pub fn summary_markdown(s: &SessionSummary) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(out, "# Interview summary\n");
    let _ = writeln!(out, "- Room: `{}`", s.room);
    if let Some(p) = &s.problem {
        let _ = writeln!(out, "- Problem: {p}");
    }
    if let Some(l) = &s.language {
        let _ = writeln!(out, "- Language: {l}");
    }
    if s.start_ms > 0 {
        let _ = writeln!(out, "- Started: {}", iso(s.start_ms));
        let _ = writeln!(out, "- Ended: {}", iso(s.end_ms));
        let _ = writeln!(out, "- Duration: {}", clock(s.end_ms.saturating_sub(s.start_ms)));
    }
    if let Some(t) = &s.timer {
        let _ = writeln!(
            out,
            "- Timer: {} used of {}",
            clock(t.elapsed_at(s.end_ms)),
            clock(t.duration_ms)
        );
    }
    let _ = writeln!(out, "\n## Participants\n");
    let _ = writeln!(out, "| Name | Role | Member |\n| --- | --- | --- |");
    for (n, r, m) in &s.participants {
        let _ = writeln!(out, "| {} | {} | `{}` |", cell(n), cell(r), m.get(..16).unwrap_or(m));
    }
    let _ = writeln!(out, "\n## Runs and submits\n");
    if s.runs.is_empty() {
        let _ = writeln!(out, "None.");
    } else {
        let _ = writeln!(out, "| Time | By | Kind | Verdict |\n| --- | --- | --- | --- |");
        for r in &s.runs {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                clock(r.at_ms.saturating_sub(s.start_ms)),
                cell(name_of(s, &r.member)),
                cell(&r.kind),
                cell(&r.verdict)
            );
        }
    }
    let _ = writeln!(out, "\n## Flags\n");
    if s.flags.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for f in &s.flags {
        let when = clock(f.at_ms().saturating_sub(s.start_ms));
        let who = name_of(s, f.member());
        match f {
            Marker::Paste { inserted, .. } => {
                let _ = writeln!(out, "- {when} large paste by {who} ({inserted} characters)");
            }
            Marker::Away { at_ms, until_ms, .. } => {
                let _ = writeln!(out, "- {when} {who} left the window for {}", clock(until_ms - at_ms));
            }
            _ => {}
        }
    }
    let _ = writeln!(out, "\n## Scorecards\n");
    if s.private.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for p in &s.private {
        let _ = writeln!(out, "### {}\n", cell(name_of(s, &p.member)));
        if let Some(card) = &p.scorecard {
            let _ = writeln!(out, "| Criterion | Score | Comment |\n| --- | --- | --- |");
            for c in &card.criteria {
                let score = if c.score == 0 {
                    "–".to_string()
                } else {
                    format!("{}/4", c.score)
                };
                let _ = writeln!(out, "| {} | {} | {} |", cell(&c.name), score, cell(&c.comment));
            }
            if !card.recommendation.is_empty() {
                let _ = writeln!(out, "\nRecommendation: **{}**", card.recommendation.replace('_', " "));
            }
            if !card.summary.is_empty() {
                let _ = writeln!(out, "\n{}", card.summary);
            }
        }
        if !p.notes.is_empty() {
            let _ = writeln!(out, "\n#### Notes\n\n{}", p.notes);
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out, "## Chat\n");
    if s.chat.is_empty() {
        let _ = writeln!(out, "None.");
    }
    for m in &s.chat {
        let _ = writeln!(
            out,
            "- {} **{}**: {}",
            clock(m.at_ms.saturating_sub(s.start_ms)),
            cell(if m.name.is_empty() { name_of(s, &m.by) } else { &m.name }),
            cell(&m.text)
        );
    }
    let _ = writeln!(out, "\n## Final code\n");
    for (f, text) in &s.files {
        let fence = if text.contains("```") { "````" } else { "```" };
        let _ = writeln!(out, "### {f}\n\n{fence}\n{text}\n{fence}\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timer_start_pause_extend() {
        let mut t = TimerState::new(60_000);
        assert_eq!(t.remaining_at(5_000), 60_000, "not started");
        t.start(1_000);
        assert_eq!(t.remaining_at(11_000), 50_000);
        t.pause(21_000);
        assert_eq!(t.remaining_at(99_000), 40_000, "paused");
        t.extend(30_000);
        t.start(100_000);
        assert_eq!(t.remaining_at(110_000), 60_000);
        assert_eq!(t.remaining_at(1_000_000), 0);
    }

    #[test]
    fn controls_signing_bytes_change_with_content() {
        let a = Controls::initial("r");
        let mut b = a.clone();
        b.runs_enabled = false;
        assert_ne!(a.signing_bytes(), b.signing_bytes());
        let parsed: Controls = serde_json::from_str(r#"{"room":"r","at_ms":1}"#).unwrap();
        assert!(parsed.runs_enabled, "runs are on unless turned off");
    }

    #[test]
    fn tracks_flag_pastes_and_long_absences_only() {
        let people = vec![("a".to_string(), "Ana".to_string(), "candidate".to_string())];
        let updates = vec![
            UpdateFacts {
                at_ms: 10,
                author: "a".into(),
                inserted: 1,
                deleted: false,
            },
            UpdateFacts {
                at_ms: 20,
                author: "a".into(),
                inserted: 500,
                deleted: false,
            },
        ];
        let away = vec![
            AwayEvent {
                at_ms: 30,
                member: "a".into(),
                away: true,
            },
            AwayEvent {
                at_ms: 40,
                member: "a".into(),
                away: false,
            },
            AwayEvent {
                at_ms: 1_000,
                member: "a".into(),
                away: true,
            },
            AwayEvent {
                at_ms: 30_000,
                member: "a".into(),
                away: false,
            },
        ];
        let tracks = build_tracks(&people, &updates, &[], &away, 40_000);
        let m = &tracks[0].markers;
        assert!(matches!(m[0], Marker::Edit { inserted: 1, .. }));
        assert!(matches!(m[1], Marker::Paste { inserted: 500, .. }));
        assert_eq!(
            m[2],
            Marker::Away {
                at_ms: 1_000,
                member: "a".into(),
                until_ms: 30_000
            }
        );
        assert_eq!(m.len(), 3, "the 10 ms absence is not flagged");
    }

    #[test]
    fn markdown_has_scorecard_runs_and_escaped_chat() {
        let s = SessionSummary {
            room: "r1".into(),
            problem: Some("Two Sum".into()),
            start_ms: 1_700_000_000_000,
            end_ms: 1_700_000_600_000,
            participants: vec![("Ivy".into(), "interviewer".into(), "iv".into())],
            runs: vec![RunFact {
                at_ms: 1_700_000_060_000,
                member: "iv".into(),
                kind: "submit".into(),
                verdict: "accepted".into(),
                run_id: "x".into(),
            }],
            chat: vec![ChatMessage {
                id: "1".into(),
                at_ms: 1_700_000_001_000,
                by: "iv".into(),
                name: "Ivy".into(),
                text: "a|b\nc".into(),
            }],
            private: vec![PrivateEntry {
                member: "iv".into(),
                notes: "solid".into(),
                scorecard: Some(Scorecard {
                    criteria: vec![Criterion {
                        name: "testing".into(),
                        score: 3,
                        comment: String::new(),
                    }],
                    recommendation: "strong_yes".into(),
                    summary: String::new(),
                }),
            }],
            ..Default::default()
        };
        let md = summary_markdown(&s);
        assert!(md.contains("- Started: 2023-11-14 22:13:20 UTC"), "{md}");
        assert!(md.contains("| 00:01:00 | Ivy | submit | accepted |"), "{md}");
        assert!(md.contains("| testing | 3/4 |  |"), "{md}");
        assert!(md.contains("Recommendation: **strong yes**"), "{md}");
        assert!(md.contains("a\\|b c"), "{md}");
        assert!(md.contains("#### Notes\n\nsolid"), "{md}");
    }

    #[test]
    fn scorecard_validation() {
        assert!(Scorecard::rubric().validate().is_ok());
        let mut s = Scorecard::rubric();
        s.criteria[0].score = 9;
        assert!(s.validate().is_err());
        s.criteria[0].score = 2;
        s.recommendation = "maybe".into();
        assert!(s.validate().is_err());
    }

    #[test]
    fn history_update_json_is_base64() {
        let h = HistoryUpdate {
            at_ms: 1,
            author: "a".into(),
            update: vec![0, 1, 2],
        };
        let j = serde_json::to_string(&h).unwrap();
        assert!(j.contains("\"AAEC\""), "{j}");
        assert_eq!(serde_json::from_str::<HistoryUpdate>(&j).unwrap(), h);
    }
}
