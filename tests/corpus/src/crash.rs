//! crash.rs — a small Rust program that crashes the way argv[1] says, for
//! the crashstream minidump corpus. Built with panic=abort. Modes:
//!   panic     a panic (unwrap on Err) -> abort (SIGABRT)
//!   segv      a read through a dangling pointer (address 0x10) (SIGSEGV)
//!   overflow  unbounded recursion until the stack guard page (SIGSEGV)
//!   thread    a panic on a named spawned thread -> abort (SIGABRT)
use std::hint::black_box;

#[derive(Debug)]
struct Record {
    id: u64,
    payload: Vec<u8>,
}

#[inline(never)]
fn parse_record(input: &str) -> Result<Record, std::num::ParseIntError> {
    let id = input.trim().parse::<u64>()?;
    Ok(Record { id, payload: vec![0; 4] })
}

#[inline(never)]
fn crash_panic() -> u64 {
    let r = parse_record(black_box("not-a-number")).unwrap();
    r.id + r.payload.len() as u64
}

#[repr(C)]
struct Header {
    magic: u64,
    len: u64,
    data: u64,
}

#[inline(never)]
fn read_len(h: *const Header) -> u64 {
    // SAFETY: deliberately not: the pointer is dangling, this is the crash.
    unsafe { std::ptr::read_volatile(std::ptr::addr_of!((*h).len)) }
}

#[inline(never)]
fn crash_segv() -> u64 {
    let h = black_box(0usize) as *const Header; // &(*h).len is address 0x8
    let h = h.wrapping_byte_add(8); // ... and 0x10 with the offset
    read_len(h)
}

#[inline(never)]
#[allow(unconditional_recursion)]
fn overflow(depth: u64) -> u64 {
    let frame = black_box([depth; 128]);
    overflow(depth + 1) + frame[black_box(0)]
}

#[inline(never)]
fn crash_thread() {
    let workers: Vec<_> = (0..3)
        .map(|i| {
            std::thread::Builder::new()
                .name(format!("rworker-{i}"))
                .spawn(move || {
                    if i == 1 {
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        let v: Vec<u32> = black_box(Vec::new());
                        let first = v.first().expect("queue must not be empty");
                        black_box(first);
                    }
                    loop {
                        std::thread::park();
                    }
                })
                .unwrap()
        })
        .collect();
    for w in workers {
        let _ = w.join();
    }
}

fn main() {
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "panic" => println!("{}", crash_panic()),
        "segv" => println!("{}", crash_segv()),
        "overflow" => println!("{}", overflow(0)),
        "thread" => crash_thread(),
        _ => {
            eprintln!("usage: crash panic|segv|overflow|thread");
            std::process::exit(2);
        }
    }
}
