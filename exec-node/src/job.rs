//! Executing one prepared run in a fresh sandbox: start it, hand the agent the job, turn the
//! agent's frames into [`RunEvent`]s, and build the result.

use std::time::{Duration, Instant};

use base64::Engine as _;
use tandem_shared::exec::{signal_name, Phase, PhaseResult, RunEvent, RunResult, Stream, Verdict};
use tandem_shared::sandbox::{
    AgentFile, AgentJob, AgentPhase, FrameKind, LimitHit, PhaseReport, AGENT_PROTOCOL_VERSION, HOST_UID_FLOOR,
};
use tokio::sync::{mpsc, watch};

use crate::cache::{self, BuildInfo, CompileCache};
use crate::config::NodeConfig;
use crate::engine::Engine;
use crate::output::{PhaseOutput, Utf8Chunker};
use crate::pool::Pool;
use crate::request::PreparedRun;
use crate::sandbox::{Remover, Sandbox, SandboxSpec, Shape};

/// How long a fresh sandbox may take to say hello (the engine may be busy).
const HELLO_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest build the node accepts back for its cache.
const MAX_BUILD_BYTES: usize = 64 * 1024 * 1024;
/// How long the agent may take between phases (writing files, seeding directories, sending
/// a build back) before the node stops trusting it.
const BETWEEN_PHASES: Duration = Duration::from_secs(10);
/// Slack on a phase's wall limit before the node ends the phase itself: the agent's own
/// verdict (at the limit) arrives well within it unless the agent was stopped.
const WALL_SLACK: Duration = Duration::from_millis(300);

pub(crate) struct JobContext<'a> {
    pub engine: &'a Engine,
    pub pool: Option<&'a Pool>,
    pub remover: &'a Remover,
    pub cache: Option<&'a std::sync::Arc<CompileCache>>,
    pub cfg: &'a NodeConfig,
    pub job_id: &'a str,
    pub events: &'a mpsc::Sender<RunEvent>,
    /// Everything emitted also goes here, for watchers who join late.
    pub log: &'a crate::events::EventLog,
    pub cancel: watch::Receiver<bool>,
    pub accepted: Instant,
    /// Set for a run of a bank problem: the judge, and what of the output may be shown.
    pub problem: Option<&'a crate::judge::ProblemRun>,
}

/// The verdict a phase report amounts to.
pub fn verdict_of(phase: Phase, r: &PhaseReport) -> (Verdict, Option<String>) {
    let limit_msg = |what: &str| {
        Some(format!(
            "{} {what}",
            if phase == Phase::Compile {
                "compilation"
            } else {
                "program"
            }
        ))
    };
    if let Some(err) = &r.spawn_error {
        return (Verdict::InternalError, Some(err.clone()));
    }
    match r.limit {
        Some(LimitHit::Stdout) => return (Verdict::OutputLimit, Some("stdout exceeded the output limit".into())),
        Some(LimitHit::Stderr) => return (Verdict::OutputLimit, Some("stderr exceeded the output limit".into())),
        Some(LimitHit::Memory) => return (Verdict::MemoryLimit, limit_msg("exceeded the memory limit")),
        Some(LimitHit::Cpu) => return (Verdict::CpuTimeLimit, limit_msg("exceeded the CPU time limit")),
        Some(LimitHit::Wall) => return (Verdict::WallTimeLimit, limit_msg("exceeded the wall time limit")),
        None => {}
    }
    if r.oom_killed {
        return (
            Verdict::MemoryLimit,
            limit_msg("was killed for exceeding the memory limit"),
        );
    }
    let failed = match (r.exit_code, r.signal) {
        (Some(0), None) => return (Verdict::Ok, None),
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(sig)) => format!("was killed by {}", signal_name(sig)),
        (None, None) => "ended without an exit status".into(),
    };
    match phase {
        Phase::Compile => (
            Verdict::CompileError,
            Some(format!("compilation failed: compiler {failed}")),
        ),
        Phase::Run => (Verdict::RuntimeError, Some(format!("program {failed}"))),
    }
}

/// What will be sent to the sandbox, and how the build cache takes part.
struct Plan {
    job: AgentJob,
    phases: Vec<(Phase, u64)>,
    /// Set when the build is to be cached after the compile phase.
    cache_key: Option<String>,
    /// Set when the build came from the cache: the compile phase to report.
    cached_compile: Option<PhaseResult>,
}

fn agent_job(prep: &PreparedRun, compile: bool, built: cache::Artifacts) -> AgentJob {
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut phases = Vec::new();
    let phase = |phase, argv: &Vec<String>, l: &tandem_shared::exec::PhaseLimits, stdin: &[u8]| AgentPhase {
        phase,
        argv: argv.clone(),
        wall_ms: l.wall_ms,
        cpu_ms: l.cpu_ms,
        memory_bytes: l.memory_bytes,
        output_bytes: l.output_bytes,
        stdin: b64.encode(stdin),
        prestarted: None,
    };
    if let Some(argv) = prep.compile_argv.as_ref().filter(|_| compile) {
        phases.push(phase(Phase::Compile, argv, &prep.limits.compile, b""));
    }
    let mut run = phase(Phase::Run, &prep.run_argv, &prep.limits.run, &prep.stdin);
    if let Some(pre) = &prep.language.prestart {
        run.prestarted = prep.run_argv.strip_prefix(pre.as_slice()).map(<[String]>::to_vec);
    }
    phases.push(run);
    let sources = prep.files.iter().map(|(path, data)| AgentFile {
        path: path.clone(),
        data: b64.encode(data),
        executable: false,
    });
    let built = built.into_iter().map(|(path, data, executable)| AgentFile {
        path,
        data: b64.encode(data),
        executable,
    });
    AgentJob {
        version: AGENT_PROTOCOL_VERSION,
        files: sources.chain(built).collect(),
        // A cached build needs no warm toolchain cache.
        seed_dirs: if compile {
            prep.language.seed_dirs.clone()
        } else {
            Vec::new()
        },
        env: prep.language.env.clone(),
        phases,
        artifacts: Vec::new(),
    }
}

async fn plan(cache: Option<&std::sync::Arc<CompileCache>>, prep: &PreparedRun) -> Plan {
    let run_only = vec![(Phase::Run, prep.limits.run.wall_ms)];
    let key = cache
        .filter(|_| !prep.language.artifacts.is_empty())
        .and_then(|_| cache::key(prep));
    if let (Some(cache), Some(key)) = (cache, key.as_deref()) {
        if let Some((info, built)) = cache.get(key).await {
            let compile = PhaseResult {
                phase: Phase::Compile,
                verdict: Verdict::Ok,
                exit_code: Some(0),
                signal: None,
                cpu_ms: 0,
                wall_ms: 0,
                memory_bytes: None,
                output: format!("{}{}", info.stdout, info.stderr),
                stdout: info.stdout,
                stderr: info.stderr,
                message: Some(format!("cached build (compiled in {} ms)", info.wall_ms)),
            };
            return Plan {
                job: agent_job(prep, false, built),
                phases: run_only,
                cache_key: None,
                cached_compile: Some(compile),
            };
        }
    }
    let mut phases = Vec::new();
    if prep.compile_argv.is_some() {
        phases.push((Phase::Compile, prep.limits.compile.wall_ms));
    }
    phases.extend(run_only);
    let mut job = agent_job(prep, true, Vec::new());
    if key.is_some() {
        job.artifacts = prep.language.artifacts.clone();
    }
    Plan {
        job,
        phases,
        cache_key: key,
        cached_compile: None,
    }
}

pub(crate) fn sandbox_spec(prep: &PreparedRun, cfg: &NodeConfig, job_id: &str) -> SandboxSpec {
    spec_for(&prep.language, &prep.limits, cfg, job_id)
}

/// The sandbox a run of `lang` under `limits` needs.
pub(crate) fn spec_for(
    lang: &tandem_shared::language::Language,
    limits: &tandem_shared::exec::ResolvedLimits,
    cfg: &NodeConfig,
    job_id: &str,
) -> SandboxSpec {
    // The engine cannot change a running container's memory limit, so the sandbox gets the
    // larger of the two phases' and the agent holds the run phase to its own.
    let memory_bytes = if lang.compile.is_some() {
        limits.compile.memory_bytes.max(limits.run.memory_bytes)
    } else {
        limits.run.memory_bytes
    };
    SandboxSpec {
        shape: Shape {
            image: lang.image.clone(),
            memory_bytes,
            pids: limits.pids,
            cpu_millis: limits.cpu_millis,
            work_dir_bytes: cfg.work_dir_bytes,
            tmp_bytes: cfg.tmp_bytes,
            noexec_work: lang.noexec_work,
            agent_args: match &lang.prestart {
                Some(argv) => vec![
                    "--prestart".into(),
                    serde_json::to_string(argv).expect("strings serialize"),
                    "--env".into(),
                    serde_json::to_string(&lang.env).expect("strings serialize"),
                ],
                None => vec![],
            },
        },
        node_id: cfg.node_id.clone(),
        job_id: job_id.to_string(),
        agent_path: cfg.agent_path.clone(),
        userns: cfg.sandbox_userns.clone(),
        require_userns: cfg.require_user_namespace,
    }
}

/// Checks the limits the agent saw in its cgroup against the ones asked for.
pub fn limits_mismatch(spec: &SandboxSpec, seen: &tandem_shared::sandbox::ObservedLimits) -> Option<String> {
    let mut wrong = Vec::new();
    if seen.memory_bytes != Some(spec.shape.memory_bytes) {
        wrong.push(format!(
            "memory {:?} (asked {})",
            seen.memory_bytes, spec.shape.memory_bytes
        ));
    }
    if seen.pids != Some(spec.shape.pids) {
        wrong.push(format!("pids {:?} (asked {})", seen.pids, spec.shape.pids));
    }
    if seen.cpu_millis != Some(spec.shape.cpu_millis) {
        wrong.push(format!(
            "cpu {:?} millis (asked {})",
            seen.cpu_millis, spec.shape.cpu_millis
        ));
    }
    if let Some(swap) = seen.memory_swap_bytes {
        if swap != spec.shape.memory_bytes {
            wrong.push(format!("memory+swap {swap} (asked {})", spec.shape.memory_bytes));
        }
    }
    match seen.lowest_host_uid {
        Some(uid) if uid >= HOST_UID_FLOOR => {}
        _ if !spec.require_userns => {}
        seen => wrong.push(format!(
            "no user namespace: sandbox uids map to host uids from {seen:?} (wanted at least {HOST_UID_FLOOR}; with Podman add `containers:2147483647:2147483648` to /etc/subuid and /etc/subgid, with Docker enable userns-remap)"
        )),
    }
    (!wrong.is_empty()).then(|| wrong.join(", "))
}

struct Run<'a, 'b> {
    ctx: &'a JobContext<'b>,
    seq: u64,
    receiver_gone: bool,
    /// A problem run's stdout without the harness's result lines.
    filter: crate::judge::LineFilter,
}

impl Run<'_, '_> {
    /// Emits an output chunk with the run's next sequence number. A problem run's program
    /// output is filtered (visible run) or withheld (submission: it could echo hidden tests).
    async fn output(&mut self, phase: Phase, stream: Stream, data: String) {
        let data = match self.ctx.problem {
            Some(p) if phase == Phase::Run && p.hides_output() => return,
            Some(_) if phase == Phase::Run && stream == Stream::Stdout => self.filter.push(&data),
            _ => data,
        };
        if data.is_empty() {
            return;
        }
        self.emit_output(phase, stream, data).await;
    }

    async fn emit_output(&mut self, phase: Phase, stream: Stream, data: String) {
        let seq = self.seq;
        self.seq += 1;
        self.emit(RunEvent::Output {
            seq,
            phase,
            stream,
            data,
        })
        .await;
    }

    async fn emit(&mut self, event: RunEvent) {
        self.ctx.log.push(event.clone());
        if self.ctx.events.send(event).await.is_err() {
            self.receiver_gone = true;
        }
    }
}

/// Runs `prep` to its end and returns the result; every event (but `Queued`) is sent on
/// `ctx.events`, the last being `Finished`. The sandbox is gone when this returns.
pub(crate) async fn execute(ctx: JobContext<'_>, prep: &PreparedRun) -> RunResult {
    let mut result = RunResult {
        job_id: ctx.job_id.to_string(),
        language: prep.language.id.clone(),
        version: prep.language.version.clone(),
        verdict: Verdict::InternalError,
        compile: None,
        run: None,
        limits: prep.limits,
        total_ms: 0,
        tests: None,
    };
    let spec = sandbox_spec(prep, ctx.cfg, ctx.job_id);
    let mut run = Run {
        ctx: &ctx,
        seq: 0,
        receiver_gone: false,
        filter: Default::default(),
    };
    let pooled = ctx.pool.and_then(|p| p.take(&spec));
    tracing::debug!(
        job = ctx.job_id,
        pooled = pooled.is_some(),
        since_accept_us = ctx.accepted.elapsed().as_micros() as u64,
        "sandbox chosen"
    );
    let started = match pooled {
        Some(sb) => Ok(sb),
        None => Sandbox::start(ctx.engine, &spec, HELLO_TIMEOUT).await,
    };
    let mut used = None;
    match started {
        Err(e) => {
            tracing::error!(job = ctx.job_id, "sandbox failed to start: {e}");
            result.run = Some(internal_phase(Phase::Run, e.to_string()));
        }
        Ok(mut sandbox) => {
            used = Some(sandbox.id.clone());
            match limits_mismatch(&spec, &sandbox.hello.limits).filter(|_| !ctx.cfg.allow_unenforced_limits) {
                Some(wrong) => {
                    result.run = Some(internal_phase(
                        Phase::Run,
                        format!("the sandbox's limits are not enforced: {wrong}"),
                    ));
                }
                None => {
                    run.emit(RunEvent::Started {
                        job_id: ctx.job_id.to_string(),
                        language: prep.language.id.clone(),
                        version: prep.language.version.clone(),
                    })
                    .await;
                    tracing::debug!(
                        job = ctx.job_id,
                        since_accept_us = ctx.accepted.elapsed().as_micros() as u64,
                        "sandbox ready"
                    );
                    drive(&mut run, &mut sandbox, prep, &mut result).await;
                    tracing::debug!(
                        job = ctx.job_id,
                        since_accept_us = ctx.accepted.elapsed().as_micros() as u64,
                        "job done"
                    );
                }
            }
        }
    }
    result.verdict = match (&result.compile, &result.run) {
        (Some(c), _) if c.verdict != Verdict::Ok => c.verdict,
        (_, Some(r)) => r.verdict,
        (_, None) => Verdict::InternalError,
    };
    result.total_ms = ctx.accepted.elapsed().as_millis() as u64;
    if let Some(p) = ctx.problem {
        p.finish(&mut result);
    }
    run.emit(RunEvent::Finished {
        result: Box::new(result.clone()),
    })
    .await;
    // Removal is off the verdict's path and off the run's slot.
    if let Some(id) = used {
        ctx.remover.remove(id).await;
    }
    result
}

fn internal_phase(phase: Phase, message: String) -> PhaseResult {
    PhaseResult {
        phase,
        verdict: Verdict::InternalError,
        exit_code: None,
        signal: None,
        cpu_ms: 0,
        wall_ms: 0,
        memory_bytes: None,
        stdout: String::new(),
        stderr: String::new(),
        output: String::new(),
        message: Some(message),
    }
}

/// What ended a wait for the agent's next frame.
enum Next {
    Frame(Result<Option<(FrameKind, Vec<u8>)>, crate::sandbox::SandboxError>),
    Cancelled,
    Deadline,
}

/// Feeds the job and follows the agent's frames until the job is done, cancelled, or the
/// sandbox misbehaves.
async fn drive(run: &mut Run<'_, '_>, sandbox: &mut Sandbox, prep: &PreparedRun, result: &mut RunResult) {
    let plan = plan(run.ctx.cache, prep).await;
    let phases = plan.phases;
    let phase_started = Instant::now();
    // The node's own clock: between phases the agent gets `BETWEEN_PHASES`; once a phase has
    // started (`PhaseStart`), its wall limit plus `WALL_SLACK`, then the node ends it.
    let mut deadline = tokio::time::Instant::now() + BETWEEN_PHASES;
    let mut in_phase = false;

    if let Err(e) = sandbox.send_job(&plan.job).await {
        result.run = Some(internal_phase(Phase::Run, e.to_string()));
        return;
    }
    if let Some(compile) = plan.cached_compile {
        run.emit(RunEvent::PhaseFinished {
            result: Box::new(compile.clone()),
        })
        .await;
        set_phase(result, compile);
    }
    // The build's files as they arrive, for the cache; dropped if they grow past the bound.
    let mut built: Option<cache::Artifacts> = plan.cache_key.as_ref().map(|_| Vec::new());
    let mut built_bytes = 0usize;
    let mut current = 0;
    let mut out = PhaseOutput::default();
    let mut chunkers = [Utf8Chunker::default(), Utf8Chunker::default()];
    let mut received = [0u64; 2];
    let mut cancel = run.ctx.cancel.clone();
    loop {
        let phase = phases.get(current).map(|p| p.0).unwrap_or(Phase::Run);
        let next = tokio::select! {
            f = sandbox.next_frame() => Next::Frame(f),
            _ = cancel.wait_for(|c| *c) => Next::Cancelled,
            _ = tokio::time::sleep_until(deadline) => Next::Deadline,
        };
        let frame = match next {
            Next::Frame(f) => f,
            Next::Cancelled => {
                let mut r = internal_phase(phase, "cancelled".into());
                r.verdict = Verdict::Cancelled;
                r.wall_ms = phase_started.elapsed().as_millis() as u64;
                set_phase(result, r);
                return;
            }
            Next::Deadline if !in_phase => {
                set_phase(result, internal_phase(phase, "the sandbox stopped responding".into()));
                return;
            }
            Next::Deadline => {
                // The agent did not end the phase at its limit (stopped by the program): the
                // node does, and the sandbox is removed with everything in it.
                let wall_ms = phases.get(current).map(|p| p.1).unwrap_or_default();
                tracing::info!(job = run.ctx.job_id, ?phase, "the node ended a phase at its wall limit");
                let out = flush_output(run, &mut chunkers, &mut out, phase).await;
                let who = if phase == Phase::Compile {
                    "compilation"
                } else {
                    "program"
                };
                let pr = PhaseResult {
                    phase,
                    verdict: Verdict::WallTimeLimit,
                    exit_code: None,
                    signal: None,
                    cpu_ms: 0,
                    wall_ms,
                    memory_bytes: None,
                    stdout: out.stdout,
                    stderr: out.stderr,
                    output: out.output,
                    message: Some(format!("{who} exceeded the wall time limit")),
                };
                emit_phase(run, pr, result).await;
                return;
            }
        };
        let (kind, payload) = match frame {
            Ok(Some(f)) => f,
            Ok(None) if current >= phases.len() => return,
            Ok(None) => {
                set_phase(
                    result,
                    internal_phase(
                        phase,
                        "the sandbox ended before reporting (its agent was killed)".into(),
                    ),
                );
                return;
            }
            Err(e) => {
                set_phase(result, internal_phase(phase, e.to_string()));
                return;
            }
        };
        if run.receiver_gone {
            // Nobody listens any more: stop spending a slot on this run.
            let mut r = internal_phase(phase, "cancelled: the client went away".into());
            r.verdict = Verdict::Cancelled;
            set_phase(result, r);
            return;
        }
        match kind {
            FrameKind::Stdout | FrameKind::Stderr => {
                let (stream, idx) = if kind == FrameKind::Stdout {
                    (Stream::Stdout, 0)
                } else {
                    (Stream::Stderr, 1)
                };
                received[idx] += payload.len() as u64;
                let cap = if phase == Phase::Compile {
                    prep.limits.compile.output_bytes
                } else {
                    prep.limits.run.output_bytes
                };
                if received[idx] > cap {
                    // The agent enforces the cap; a stream over it means the agent is not ours.
                    set_phase(
                        result,
                        internal_phase(phase, "the sandbox sent more output than its cap".into()),
                    );
                    return;
                }
                let text = chunkers[idx].push(&payload);
                if text.is_empty() {
                    continue;
                }
                append(&mut out, stream, &text);
                run.output(phase, stream, text).await;
            }
            FrameKind::PhaseStart => {
                let wall = phases.get(current).map(|p| p.1).unwrap_or_default();
                deadline = tokio::time::Instant::now() + Duration::from_millis(wall) + WALL_SLACK;
                in_phase = true;
            }
            FrameKind::PhaseEnd => {
                tracing::debug!(
                    job = run.ctx.job_id,
                    since_accept_us = run.ctx.accepted.elapsed().as_micros() as u64,
                    "phase end frame"
                );
                let out = flush_output(run, &mut chunkers, &mut out, phase).await;
                let report: PhaseReport = match serde_json::from_slice(&payload) {
                    Ok(r) => r,
                    Err(e) => {
                        set_phase(result, internal_phase(phase, format!("bad phase report: {e}")));
                        return;
                    }
                };
                let (verdict, message) = verdict_of(phase, &report);
                let pr = PhaseResult {
                    phase,
                    verdict,
                    exit_code: report.exit_code,
                    signal: report.signal.map(signal_name),
                    cpu_ms: report.cpu_ms,
                    wall_ms: report.wall_ms,
                    memory_bytes: report.memory_peak_bytes,
                    stdout: out.stdout,
                    stderr: out.stderr,
                    output: out.output,
                    message,
                };
                received = [0, 0];
                if phase == Phase::Compile && pr.verdict == Verdict::Ok {
                    if let (Some(cache), Some(key), Some(files)) = (run.ctx.cache, &plan.cache_key, built.take()) {
                        if !files.is_empty() {
                            let info = BuildInfo {
                                files: Vec::new(),
                                stdout: pr.stdout.clone(),
                                stderr: pr.stderr.clone(),
                                wall_ms: pr.wall_ms,
                                cpu_ms: pr.cpu_ms,
                            };
                            let (cache, key) = (cache.clone(), key.clone());
                            // Off the run's path: the program starts while the build is stored.
                            tokio::spawn(async move {
                                if let Err(e) = cache.put(&key, info, files).await {
                                    tracing::warn!("could not cache a build: {e}");
                                }
                            });
                        }
                    }
                }
                emit_phase(run, pr, result).await;
                current += 1;
                in_phase = false;
                deadline = tokio::time::Instant::now() + BETWEEN_PHASES;
            }
            FrameKind::Artifact => {
                let chunk = tandem_shared::sandbox::ArtifactChunk::decode(&payload);
                match (built.as_mut(), chunk) {
                    (Some(files), Some(c))
                        if phase == Phase::Compile && built_bytes + c.data.len() <= MAX_BUILD_BYTES =>
                    {
                        // The compiler has ended; sending its build back is not its time.
                        deadline = deadline.max(tokio::time::Instant::now() + WALL_SLACK);
                        built_bytes += c.data.len();
                        match files.last_mut() {
                            Some(last) if !c.first && last.0 == c.path => last.1.extend_from_slice(&c.data),
                            _ => files.push((c.path, c.data, c.executable)),
                        }
                    }
                    _ => built = None, // not cacheable after all
                }
            }
            FrameKind::Done => return,
            FrameKind::Fatal => {
                set_phase(
                    result,
                    internal_phase(phase, format!("sandbox agent: {}", String::from_utf8_lossy(&payload))),
                );
                return;
            }
            FrameKind::Hello => {}
        }
    }
}

/// Ends a phase's output: what the chunkers and the marker filter still hold is emitted, and
/// the phase's kept output is taken.
async fn flush_output(
    run: &mut Run<'_, '_>,
    chunkers: &mut [Utf8Chunker; 2],
    out: &mut PhaseOutput,
    phase: Phase,
) -> PhaseOutput {
    for (idx, stream) in [(0, Stream::Stdout), (1, Stream::Stderr)] {
        let rest = chunkers[idx].finish();
        if !rest.is_empty() {
            append(out, stream, &rest);
            run.output(phase, stream, rest).await;
        }
    }
    if phase == Phase::Run && run.ctx.problem.is_some_and(|p| !p.hides_output()) {
        let rest = run.filter.finish();
        if !rest.is_empty() {
            run.emit_output(phase, Stream::Stdout, rest).await;
        }
    }
    std::mem::take(out)
}

/// Emits a phase's end (a problem run's run phase sanitized) and keeps it in the result.
async fn emit_phase(run: &mut Run<'_, '_>, pr: PhaseResult, result: &mut RunResult) {
    let mut shown = pr.clone();
    if let (Some(p), Phase::Run) = (run.ctx.problem, pr.phase) {
        p.sanitize(&mut shown);
    }
    run.emit(RunEvent::PhaseFinished {
        result: Box::new(shown),
    })
    .await;
    set_phase(result, pr);
}

fn append(out: &mut PhaseOutput, stream: Stream, text: &str) {
    match stream {
        Stream::Stdout => out.stdout.push_str(text),
        Stream::Stderr => out.stderr.push_str(text),
    }
    out.output.push_str(text);
}

fn set_phase(result: &mut RunResult, r: PhaseResult) {
    match r.phase {
        Phase::Compile => result.compile = Some(r),
        Phase::Run => result.run = Some(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> PhaseReport {
        PhaseReport {
            exit_code: Some(0),
            signal: None,
            cpu_ms: 1,
            wall_ms: 1,
            memory_peak_bytes: None,
            limit: None,
            oom_killed: false,
            spawn_error: None,
        }
    }

    #[test]
    fn verdicts_follow_the_report() {
        assert_eq!(verdict_of(Phase::Run, &report()).0, Verdict::Ok);
        let r = PhaseReport {
            exit_code: Some(3),
            ..report()
        };
        assert_eq!(verdict_of(Phase::Run, &r).0, Verdict::RuntimeError);
        assert_eq!(verdict_of(Phase::Compile, &r).0, Verdict::CompileError);
        let r = PhaseReport {
            exit_code: None,
            signal: Some(9),
            oom_killed: true,
            ..report()
        };
        assert_eq!(verdict_of(Phase::Run, &r).0, Verdict::MemoryLimit);
        let r = PhaseReport {
            exit_code: None,
            signal: Some(11),
            ..report()
        };
        let (v, msg) = verdict_of(Phase::Run, &r);
        assert_eq!(v, Verdict::RuntimeError);
        assert!(msg.unwrap().contains("SIGSEGV"));
        let r = PhaseReport {
            limit: Some(LimitHit::Stdout),
            ..report()
        };
        assert_eq!(verdict_of(Phase::Run, &r).0, Verdict::OutputLimit);
        let r = PhaseReport {
            limit: Some(LimitHit::Cpu),
            ..report()
        };
        assert_eq!(verdict_of(Phase::Run, &r).0, Verdict::CpuTimeLimit);
    }
}

#[cfg(test)]
mod limit_tests {
    use super::*;
    use tandem_shared::sandbox::ObservedLimits;

    fn spec() -> SandboxSpec {
        SandboxSpec {
            shape: Shape {
                image: "x".into(),
                memory_bytes: 256 << 20,
                pids: 64,
                cpu_millis: 1000,
                work_dir_bytes: 1,
                tmp_bytes: 1,
                noexec_work: true,
                agent_args: vec![],
            },
            node_id: "n".into(),
            job_id: "j".into(),
            agent_path: "/a".into(),
            userns: "auto".into(),
            require_userns: true,
        }
    }

    #[test]
    fn enforced_limits_match() {
        let seen = ObservedLimits {
            memory_bytes: Some(256 << 20),
            memory_swap_bytes: Some(256 << 20),
            pids: Some(64),
            cpu_millis: Some(1000),
            cgroup_version: 1,
            lowest_host_uid: Some(2_147_483_647),
        };
        assert_eq!(limits_mismatch(&spec(), &seen), None);
    }

    #[test]
    fn ignored_limits_are_detected() {
        // What rootless Podman on cgroup v1 gives: no limit at all.
        let seen = ObservedLimits {
            cgroup_version: 1,
            ..Default::default()
        };
        let wrong = limits_mismatch(&spec(), &seen).unwrap();
        assert!(
            wrong.contains("memory") && wrong.contains("pids") && wrong.contains("cpu"),
            "{wrong}"
        );
        // Swap allowed on top of memory is also a hole.
        let seen = ObservedLimits {
            memory_bytes: Some(256 << 20),
            memory_swap_bytes: Some(512 << 20),
            pids: Some(64),
            cpu_millis: Some(1000),
            cgroup_version: 1,
            lowest_host_uid: Some(2_147_483_647),
        };
        assert!(limits_mismatch(&spec(), &seen).unwrap().contains("swap"));
        // The identity uid map: the sandbox's uid 1000 is the host's.
        let seen = ObservedLimits {
            lowest_host_uid: Some(0),
            ..seen
        };
        assert!(limits_mismatch(&spec(), &seen).unwrap().contains("no user namespace"));
    }
}
