//! dumper: runs a program under ptrace and, when one of its threads stops on a
//! fatal signal, writes a minidump of the whole process with the
//! `minidump-writer` crate, then kills it.
//!
//! Why out of process: an in-process handler cannot run reliably on a
//! smashed or overflowed stack, and C/C++/Rust crashers then need no crash
//! handling code of their own. The minidump carries the real fault: the
//! signal, si_code and fault address from PTRACE_GETSIGINFO, and the crashing
//! thread's registers from PTRACE_GETREGS/GETFPREGS taken at the fault.
//!
//! Usage: dumper [--keep-aslr] [--timeout SECS] OUT.dmp -- PROGRAM [ARGS...]
//!
//! How the hand-over works: the tracer sees the fatal signal in a
//! signal-delivery-stop. It records the context, interrupts every other
//! traced thread, queues a thread-directed SIGSTOP on the crashing thread
//! and detaches all threads with the fatal signal suppressed. The crashing
//! thread dequeues SIGSTOP before it returns to user space, so the process
//! enters a group stop with the faulting registers intact, and
//! minidump-writer can PTRACE_ATTACH every thread itself.
//!
//! ASLR is disabled in the child by default so regenerated dumps have the
//! same module addresses.

use minidump_writer::{
    crash_context::CrashContext, minidump_writer::MinidumpWriterConfig, CrashContextExt,
};
use std::{
    collections::BTreeSet,
    ffi::CString,
    fs::File,
    os::unix::ffi::OsStrExt,
    process::ExitCode,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Duration,
};

type Result<T> = std::result::Result<T, String>;

/// Signals whose default action dumps core: these are the crashes we record.
const FATAL_SIGNALS: [i32; 7] = [
    libc::SIGSEGV,
    libc::SIGBUS,
    libc::SIGFPE,
    libc::SIGILL,
    libc::SIGABRT,
    libc::SIGTRAP,
    libc::SIGSYS,
];

struct Args {
    out: String,
    argv: Vec<CString>,
    keep_aslr: bool,
    timeout: Duration,
}

fn parse_args() -> Result<Args> {
    let mut keep_aslr = false;
    let mut timeout = Duration::from_secs(60);
    let mut out = None;
    let mut it = std::env::args_os().skip(1);
    while let Some(a) = it.next() {
        match a.to_str() {
            Some("--keep-aslr") => keep_aslr = true,
            Some("--timeout") => {
                let v = it.next().ok_or("--timeout needs a value")?;
                let secs: u64 = v
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .ok_or("--timeout: not a number of seconds")?;
                timeout = Duration::from_secs(secs);
            }
            Some("--") => {
                let argv: Vec<CString> = it
                    .by_ref()
                    .map(|s| CString::new(s.as_bytes()).map_err(|e| e.to_string()))
                    .collect::<Result<_>>()?;
                if argv.is_empty() {
                    return Err("no program after --".into());
                }
                let out = out.ok_or("missing OUT.dmp")?;
                return Ok(Args { out, argv, keep_aslr, timeout });
            }
            _ if out.is_none() => out = Some(a.to_string_lossy().into_owned()),
            _ => return Err(format!("unexpected argument {a:?}")),
        }
    }
    Err("usage: dumper [--keep-aslr] [--timeout SECS] OUT.dmp -- PROGRAM [ARGS...]".into())
}

fn errno() -> String {
    std::io::Error::last_os_error().to_string()
}

fn ptrace(req: libc::c_uint, tid: i32, addr: usize, data: usize) -> Result<libc::c_long> {
    // SAFETY: plain syscall wrapper; callers pass valid pointers in data.
    let r = unsafe { libc::ptrace(req, tid, addr, data) };
    if r == -1 {
        return Err(format!("ptrace({req}, {tid}): {}", errno()));
    }
    Ok(r)
}

fn waitpid(tid: i32, flags: i32) -> Result<(i32, i32)> {
    let mut status = 0;
    loop {
        // SAFETY: status is a valid out pointer.
        let r = unsafe { libc::waitpid(tid, &mut status, flags) };
        if r >= 0 {
            return Ok((r, status));
        }
        if std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            return Err(format!("waitpid({tid}): {}", errno()));
        }
    }
}

/// Forks and execs argv in a child that waits on a pipe until the parent has
/// seized it, so no instruction of the program runs untraced.
fn spawn_traced(args: &Args) -> Result<i32> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid two-element array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(format!("pipe: {}", errno()));
    }
    let mut argv_ptrs: Vec<*const libc::c_char> = args.argv.iter().map(|s| s.as_ptr()).collect();
    argv_ptrs.push(std::ptr::null());

    // SAFETY: the child only calls async-signal-safe functions before exec.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", errno()));
    }
    if pid == 0 {
        unsafe {
            libc::close(fds[1]);
            let mut b = 0u8;
            libc::read(fds[0], (&mut b as *mut u8).cast(), 1);
            libc::close(fds[0]);
            // The program gets stdin/stdout/stderr only: the dump lists
            // open file descriptors, and the tracer's others are not its.
            libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
            if !args.keep_aslr {
                libc::personality(libc::ADDR_NO_RANDOMIZE as libc::c_ulong);
            }
            libc::execvp(argv_ptrs[0], argv_ptrs.as_ptr());
            libc::_exit(127);
        }
    }
    // SAFETY: closing our copy of the read end.
    unsafe { libc::close(fds[0]) };
    let opts = libc::PTRACE_O_TRACECLONE | libc::PTRACE_O_TRACEEXEC | libc::PTRACE_O_EXITKILL;
    let seized = ptrace(libc::PTRACE_SEIZE, pid, 0, opts as usize);
    // SAFETY: writing one byte from a valid buffer, then closing.
    unsafe {
        libc::write(fds[1], b"g".as_ptr().cast(), 1);
        libc::close(fds[1]);
    }
    if let Err(e) = seized {
        // SAFETY: killing our own child.
        unsafe { libc::kill(pid, libc::SIGKILL) };
        let _ = waitpid(pid, 0);
        return Err(e);
    }
    Ok(pid)
}

/// What the tracer saw at the fault.
struct Fault {
    tid: i32,
    siginfo: libc::siginfo_t,
    regs: libc::user_regs_struct,
    fpregs: libc::user_fpregs_struct,
}

/// Lets the program run until a thread stops on a fatal signal.
fn run_until_crash(pid: i32) -> Result<(Fault, BTreeSet<i32>)> {
    let mut tids = BTreeSet::from([pid]);
    loop {
        let (tid, status) = waitpid(-1, libc::__WALL)?;
        if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
            tids.remove(&tid);
            if tid == pid {
                return Err(if libc::WIFEXITED(status) {
                    format!("program exited with status {} without crashing", libc::WEXITSTATUS(status))
                } else {
                    format!("program killed by signal {} without a fatal-signal stop", libc::WTERMSIG(status))
                });
            }
            continue;
        }
        if !libc::WIFSTOPPED(status) {
            continue;
        }
        tids.insert(tid);
        let sig = libc::WSTOPSIG(status);
        let event = (status >> 16) & 0xff;
        if event != 0 {
            if event == libc::PTRACE_EVENT_CLONE {
                let mut new_tid: libc::c_ulong = 0;
                ptrace(libc::PTRACE_GETEVENTMSG, tid, 0, &mut new_tid as *mut _ as usize)?;
                tids.insert(new_tid as i32);
            }
            ptrace(libc::PTRACE_CONT, tid, 0, 0)?;
            continue;
        }
        if FATAL_SIGNALS.contains(&sig) {
            // SAFETY: zeroed plain-old-data structs filled by the kernel.
            let mut fault = Fault {
                tid,
                siginfo: unsafe { std::mem::zeroed() },
                regs: unsafe { std::mem::zeroed() },
                fpregs: unsafe { std::mem::zeroed() },
            };
            ptrace(libc::PTRACE_GETSIGINFO, tid, 0, &mut fault.siginfo as *mut _ as usize)?;
            ptrace(libc::PTRACE_GETREGS, tid, 0, &mut fault.regs as *mut _ as usize)?;
            ptrace(libc::PTRACE_GETFPREGS, tid, 0, &mut fault.fpregs as *mut _ as usize)?;
            return Ok((fault, tids));
        }
        ptrace(libc::PTRACE_CONT, tid, 0, sig as usize)?;
    }
}

/// Stops the other threads, parks the process in a group stop and detaches.
fn hand_over(pid: i32, fault: &Fault, tids: &BTreeSet<i32>) -> Result<()> {
    let mut stopped = Vec::new();
    for &t in tids.iter().filter(|&&t| t != fault.tid) {
        if ptrace(libc::PTRACE_INTERRUPT, t, 0, 0).is_err() {
            continue; // already gone
        }
        loop {
            let (_, status) = waitpid(t, libc::__WALL)?;
            if libc::WIFSTOPPED(status) {
                stopped.push(t);
                break;
            }
            if libc::WIFEXITED(status) || libc::WIFSIGNALED(status) {
                break;
            }
        }
    }
    // SAFETY: thread-directed signal to a thread of our child.
    if unsafe { libc::syscall(libc::SYS_tgkill, pid, fault.tid, libc::SIGSTOP) } != 0 {
        return Err(format!("tgkill SIGSTOP: {}", errno()));
    }
    for t in stopped {
        let _ = ptrace(libc::PTRACE_DETACH, t, 0, 0);
    }
    ptrace(libc::PTRACE_DETACH, fault.tid, 0, 0)?;
    Ok(())
}

/// Builds the signal-handler-shaped context minidump-writer expects from
/// what ptrace returned.
fn crash_context(pid: i32, f: &Fault) -> CrashContext {
    // SAFETY: CrashContext is plain old data; all-zero is valid.
    let mut cc: CrashContext = unsafe { std::mem::zeroed() };
    let r = &f.regs;
    let g = &mut cc.context.uc_mcontext.gregs;
    let set = |g: &mut [i64; 23], i: i32, v: u64| g[i as usize] = v as i64;
    set(g, libc::REG_R8, r.r8);
    set(g, libc::REG_R9, r.r9);
    set(g, libc::REG_R10, r.r10);
    set(g, libc::REG_R11, r.r11);
    set(g, libc::REG_R12, r.r12);
    set(g, libc::REG_R13, r.r13);
    set(g, libc::REG_R14, r.r14);
    set(g, libc::REG_R15, r.r15);
    set(g, libc::REG_RDI, r.rdi);
    set(g, libc::REG_RSI, r.rsi);
    set(g, libc::REG_RBP, r.rbp);
    set(g, libc::REG_RBX, r.rbx);
    set(g, libc::REG_RDX, r.rdx);
    set(g, libc::REG_RAX, r.rax);
    set(g, libc::REG_RCX, r.rcx);
    set(g, libc::REG_RSP, r.rsp);
    set(g, libc::REG_RIP, r.rip);
    set(g, libc::REG_EFL, r.eflags);
    set(g, libc::REG_CSGSFS, (r.cs & 0xffff) | ((r.gs & 0xffff) << 16) | ((r.fs & 0xffff) << 32));

    // user_fpregs_struct and the kernel's fpregset_t are the same 512-byte
    // FXSAVE area.
    assert_eq!(
        std::mem::size_of_val(&cc.float_state),
        std::mem::size_of_val(&f.fpregs)
    );
    // SAFETY: same size, both plain old data.
    unsafe {
        std::ptr::copy_nonoverlapping(
            (&f.fpregs as *const libc::user_fpregs_struct).cast::<u8>(),
            &mut cc.float_state as *mut _ as *mut u8,
            std::mem::size_of_val(&f.fpregs),
        );
    }

    let si = &f.siginfo;
    cc.siginfo.ssi_signo = si.si_signo as u32;
    cc.siginfo.ssi_errno = si.si_errno;
    cc.siginfo.ssi_code = si.si_code;
    // Like an in-process handler, record the raw si_addr union member; for
    // kill/tgkill-raised signals (abort) it overlaps si_pid/si_uid.
    // SAFETY: reading union members of a kernel-filled siginfo.
    unsafe {
        cc.siginfo.ssi_addr = si.si_addr() as u64;
        if si.si_code <= 0 {
            cc.siginfo.ssi_pid = si.si_pid() as u32;
            cc.siginfo.ssi_uid = si.si_uid();
        }
    }
    cc.siginfo.ssi_tid = f.tid as u32;
    cc.pid = pid;
    cc.tid = f.tid;
    cc
}

fn write_dump(pid: i32, fault: &Fault, out: &str) -> Result<()> {
    let cc = crash_context(pid, fault);
    let mut file = File::create(out).map_err(|e| format!("create {out}: {e}"))?;
    let mut cfg = MinidumpWriterConfig::new(pid, fault.tid);
    cfg.set_crash_context(CrashContextExt { inner: cc })
        .stop_timeout(Duration::from_secs(10));
    cfg.write(&mut file).map_err(|e| format!("minidump-writer: {e}"))?;
    Ok(())
}

fn run(args: &Args) -> Result<String> {
    let pid = spawn_traced(args)?;
    let done = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = Arc::clone(&done);
        let timeout = args.timeout;
        std::thread::spawn(move || {
            let step = Duration::from_millis(50);
            let mut waited = Duration::ZERO;
            while !done.load(Ordering::Relaxed) {
                if waited >= timeout {
                    eprintln!("dumper: timeout after {timeout:?}, killing {pid}");
                    // SAFETY: killing our own child.
                    unsafe { libc::kill(pid, libc::SIGKILL) };
                    return;
                }
                std::thread::sleep(step);
                waited += step;
            }
        })
    };
    let result = (|| {
        let (fault, tids) = run_until_crash(pid)?;
        hand_over(pid, &fault, &tids)?;
        write_dump(pid, &fault, &args.out)?;
        Ok(format!(
            "signal {} code {} in thread {} of pid {}",
            fault.siginfo.si_signo, fault.siginfo.si_code, fault.tid, pid
        ))
    })();
    done.store(true, Ordering::Relaxed);
    // SAFETY: the program has been dumped (or failed); make sure it dies.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let _ = waitpid(pid, 0);
    let _ = watchdog.join();
    result
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("dumper: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&args) {
        Ok(what) => {
            eprintln!("dumper: wrote {} ({what})", args.out);
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("dumper: {e}");
            let _ = std::fs::remove_file(&args.out);
            ExitCode::FAILURE
        }
    }
}
