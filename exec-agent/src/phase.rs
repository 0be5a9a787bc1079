//! Running one phase (compile or run) under its limits.
//!
//! Wall time, CPU time, per-phase memory and output caps are watched here; memory and pids
//! for the whole sandbox are the kernel's job (the cgroup). `RLIMIT_CPU` is a backstop for a
//! single process that outruns the 5 ms watch loop.

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use tandem_shared::sandbox::{AgentPhase, FrameKind, LimitHit, PhaseReport, WORK_DIR};

use crate::cgroup::Cgroup;
use crate::Out;

const BASE_ENV: [(&str, &str); 5] = [
    ("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"),
    ("HOME", WORK_DIR),
    ("LANG", "C.UTF-8"),
    ("TMPDIR", "/tmp"),
    ("USER", "runner"),
];
/// How often limits are checked while a phase runs.
const WATCH_EVERY: Duration = Duration::from_millis(5);

struct Reaped {
    pid: i32,
    status: i32,
    rusage: libc::rusage,
}

/// Reaps every child, including orphans re-parented to us (we are a subreaper), so none
/// stays a zombie and their CPU time is known.
pub struct Reaper {
    rx: Receiver<Reaped>,
}

impl Reaper {
    pub fn start() -> Self {
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || loop {
            let mut status = 0;
            // SAFETY: rusage is plain data; wait4 fills it.
            let mut rusage: libc::rusage = unsafe { std::mem::zeroed() };
            // SAFETY: valid pointers to locals.
            let pid = unsafe { libc::wait4(-1, &mut status, 0, &mut rusage) };
            if pid > 0 {
                if tx.send(Reaped { pid, status, rusage }).is_err() {
                    return;
                }
            } else {
                // No children right now (between phases).
                thread::sleep(Duration::from_millis(1));
            }
        });
        Self { rx }
    }
}

fn tv_ms(tv: libc::timeval) -> u64 {
    tv.tv_sec as u64 * 1000 + tv.tv_usec as u64 / 1000
}

fn self_cpu_ns() -> u64 {
    // SAFETY: rusage is plain data; getrusage fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    (tv_ms(ru.ru_utime) + tv_ms(ru.ru_stime)) * 1_000_000
}

/// Kills every process of ours in the sandbox except ourselves and the init, and keeps
/// at it until none is left alive: one `kill(-1)` can race a fork bomb's new children.
fn kill_all() {
    for _ in 0..500 {
        // SAFETY: kill(-1) signals every process we may signal in our pid namespace.
        unsafe { libc::kill(-1, libc::SIGKILL) };
        if !others_alive() {
            return;
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Whether any process other than us and the init is alive (zombies don't count: the
/// reaper collects them).
fn others_alive() -> bool {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return false;
    };
    dir.flatten().any(|e| {
        let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else {
            return false;
        };
        if pid == 1 || pid == me {
            return false;
        }
        // The state is the field after the parenthesised command name.
        match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| !rest.starts_with('Z') && !rest.starts_with('X')),
            Err(_) => false,
        }
    })
}

fn set_limit(slot: &Mutex<Option<LimitHit>>, hit: LimitHit) {
    let mut s = slot.lock().unwrap_or_else(|e| e.into_inner());
    if s.is_none() {
        *s = Some(hit);
    }
}

fn forward(
    mut pipe: impl Read + Send + 'static,
    kind: FrameKind,
    cap: u64,
    hit: LimitHit,
    out: Out,
    limit: Arc<Mutex<Option<LimitHit>>>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = vec![0u8; 32 * 1024];
        let mut total = 0u64;
        loop {
            let n = match pipe.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            let keep = cap.saturating_sub(total).min(n as u64) as usize;
            total += n as u64;
            if keep > 0 {
                out.send(kind, &buf[..keep]);
            }
            if total > cap {
                // Over the cap: stop the program, then drain and drop until the writers are gone.
                set_limit(&limit, hit);
                kill_all();
            }
        }
    })
}

/// Starts a command the way every phase's program starts: in its own session, in the work
/// dir, with a clean environment, piped stdio, a CPU-time backstop and no core dumps.
/// `control` becomes fd 3 of the child (for a pre-started program).
fn spawn(argv: &[String], env: &[String], cpu_ms: u64, control: Option<i32>) -> Result<Child, String> {
    let Some((prog, args)) = argv.split_first() else {
        return Err("empty command".into());
    };
    let mut cmd = Command::new(prog);
    cmd.args(args)
        .current_dir(WORK_DIR)
        .env_clear()
        .envs(BASE_ENV)
        .envs(env.iter().filter_map(|kv| kv.split_once('=')))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let cpu_secs = cpu_ms.div_ceil(1000) + 1;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::setsid();
            let cpu = libc::rlimit {
                rlim_cur: cpu_secs,
                rlim_max: cpu_secs + 1,
            };
            libc::setrlimit(libc::RLIMIT_CPU, &cpu);
            let core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            libc::setrlimit(libc::RLIMIT_CORE, &core);
            if let Some(fd) = control {
                // dup2 onto itself would keep close-on-exec set, so clear it by hand then.
                let ok = if fd == 3 {
                    libc::fcntl(3, libc::F_SETFD, 0) >= 0
                } else {
                    libc::dup2(fd, 3) >= 0
                };
                if !ok {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    cmd.spawn().map_err(|e| format!("cannot start {prog}: {e}"))
}

/// A program started before its job arrived (e.g. Node, whose start-up is most of a small
/// run): it waits on fd 3 for the JSON argv of the program to run, then runs it as if
/// started with it. Used for the run phase of languages without a compile phase only, since
/// the end of a phase kills every process of the sandbox.
pub struct Prestarted {
    child: Child,
    control: std::fs::File,
}

impl Prestarted {
    /// Starts `argv` with `TANDEM_PRESTART_FD=3`. CPU time is the operator's ceiling here;
    /// the phase's own limit is watched from the cgroup once the job arrives.
    pub fn start(argv: &[String], env: &[String]) -> Result<Self, String> {
        let mut fds = [0i32; 2];
        // SAFETY: fds is a valid array of two ints.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return Err(format!("pipe: {}", std::io::Error::last_os_error()));
        }
        let mut env = env.to_vec();
        env.push("TANDEM_PRESTART_FD=3".into());
        let child = spawn(argv, &env, 60_000, Some(fds[0]));
        // SAFETY: we own both ends; the child has its own copy of the read end as fd 3.
        unsafe { libc::close(fds[0]) };
        let control = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fds[1]) };
        Ok(Self { child: child?, control })
    }

    /// Hands the waiting program its argv; `None` if it is gone.
    fn go(mut self, argv: &[String]) -> Option<Child> {
        let msg = serde_json::to_vec(argv).ok()?;
        self.control.write_all(&msg).ok()?;
        drop(self.control); // EOF tells the program the message is whole
        Some(self.child)
    }
}

/// Runs one phase to its end and reports how it ended. `pre` is a program started before the
/// job, used when the phase asks for it.
pub fn run_phase(
    p: &AgentPhase,
    pre: Option<Prestarted>,
    stdin: &[u8],
    env: &[String],
    first_phase: bool,
    out: &Out,
    cg: &Cgroup,
    reaper: &Reaper,
) -> PhaseReport {
    let start = Instant::now();
    let oom_before = cg.oom_kills();
    let cpu_before = cg.cpu_ns().map(|c| (c, self_cpu_ns()));
    let sandbox_memory = cg.limits().memory_bytes;

    let mut report = PhaseReport {
        exit_code: None,
        signal: None,
        cpu_ms: 0,
        wall_ms: 0,
        memory_peak_bytes: None,
        limit: None,
        oom_killed: false,
        spawn_error: None,
    };
    let child = match pre.and_then(|pre| pre.go(p.prestarted.as_deref()?)) {
        Some(child) => Ok(child),
        None => spawn(&p.argv, env, p.cpu_ms, None),
    };
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            report.spawn_error = Some(e);
            report.exit_code = Some(127);
            return report;
        }
    };
    let pid = child.id() as i32;

    if let Some(mut w) = child.stdin.take() {
        let data = stdin.to_vec();
        thread::spawn(move || {
            let _ = w.write_all(&data); // a program that ignores stdin closes the pipe: fine
        });
    }
    let limit = Arc::new(Mutex::new(None));
    let readers = [
        child.stdout.take().map(|r| {
            forward(
                r,
                FrameKind::Stdout,
                p.output_bytes,
                LimitHit::Stdout,
                out.clone(),
                limit.clone(),
            )
        }),
        child.stderr.take().map(|r| {
            forward(
                r,
                FrameKind::Stderr,
                p.output_bytes,
                LimitHit::Stderr,
                out.clone(),
                limit.clone(),
            )
        }),
    ];

    let mut status = None;
    let mut child_cpu_ms = 0;
    let mut child_maxrss_kib = 0i64;
    let mut orphan_cpu_ms = 0;
    while status.is_none() {
        match reaper.rx.recv_timeout(WATCH_EVERY) {
            Ok(r) if r.pid == pid => {
                status = Some(r.status);
                child_cpu_ms = tv_ms(r.rusage.ru_utime) + tv_ms(r.rusage.ru_stime);
                child_maxrss_kib = r.rusage.ru_maxrss;
            }
            Ok(r) => orphan_cpu_ms += tv_ms(r.rusage.ru_utime) + tv_ms(r.rusage.ru_stime),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        if status.is_some() {
            break;
        }
        if start.elapsed() >= Duration::from_millis(p.wall_ms) {
            set_limit(&limit, LimitHit::Wall);
            kill_all();
        }
        if let (Some((c0, s0)), Some(c)) = (cpu_before, cg.cpu_ns()) {
            let used = c.saturating_sub(c0).saturating_sub(self_cpu_ns().saturating_sub(s0));
            if used >= p.cpu_ms * 1_000_000 {
                set_limit(&limit, LimitHit::Cpu);
                kill_all();
            }
        }
        if let (Some(sandbox), Some(now)) = (sandbox_memory, cg.memory_now()) {
            if p.memory_bytes < sandbox && now > p.memory_bytes {
                set_limit(&limit, LimitHit::Memory);
                kill_all();
            }
        }
    }
    // Whatever the program left behind (background jobs, setsid'd children) dies with it.
    kill_all();
    for r in readers.into_iter().flatten() {
        let _ = r.join();
    }
    while let Ok(r) = reaper.rx.recv_timeout(Duration::from_millis(1)) {
        orphan_cpu_ms += tv_ms(r.rusage.ru_utime) + tv_ms(r.rusage.ru_stime);
    }

    report.wall_ms = start.elapsed().as_millis() as u64;
    report.cpu_ms = match (cpu_before, cg.cpu_ns()) {
        (Some((c0, s0)), Some(c)) => c.saturating_sub(c0).saturating_sub(self_cpu_ns().saturating_sub(s0)) / 1_000_000,
        _ => child_cpu_ms + orphan_cpu_ms,
    };
    // The cgroup's peak covers the sandbox's whole life, so it describes the first phase
    // only; later phases report their largest process.
    report.memory_peak_bytes = match cg.memory_peak() {
        Some(peak) if first_phase => Some(peak),
        _ => Some(child_maxrss_kib.max(0) as u64 * 1024),
    };
    report.oom_killed = cg.oom_kills() > oom_before;
    if let Some(st) = status {
        if libc::WIFEXITED(st) {
            report.exit_code = Some(libc::WEXITSTATUS(st));
        } else if libc::WIFSIGNALED(st) {
            report.signal = Some(libc::WTERMSIG(st));
        }
    }
    report.limit = *limit.lock().unwrap_or_else(|e| e.into_inner());
    if report.limit.is_none() && report.signal == Some(libc::SIGXCPU) {
        report.limit = Some(LimitHit::Cpu);
    }
    if report.oom_killed && report.limit.is_none() {
        report.limit = Some(LimitHit::Memory);
    }
    report
}
