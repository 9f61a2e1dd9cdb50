//! One run of a two-column recipe against a running mock server, for
//! `scripts/compare-layers-cost`: built against each version of chatan compared, from
//! this same source, it prints `calls wall_seconds client_cpu_seconds`.
//!
//!     layers-cost URL ROWS CONCURRENCY

use std::time::Instant;

chatan::dataset! {
    struct Qa {
        question: String = gen("write an example question from a 5th grade math test"),
        answer: String = gen("answer: {question}"),
    }
}

fn cpu_seconds() -> f64 {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the pointer it is given.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(u.ru_utime) + seconds(u.ru_stime)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = &args[1];
    let rows: usize = args[2].parse().expect("rows");
    let concurrency: usize = args[3].parse().expect("concurrency");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let llm = chatan::OpenAi::compatible(url).expect("url");
    let before = cpu_seconds();
    let started = Instant::now();
    let made = runtime
        .block_on(Qa::runner(&llm).concurrency(concurrency).generate(rows))
        .expect("the run");
    let wall = started.elapsed().as_secs_f64();
    let cpu = cpu_seconds() - before;
    assert_eq!(made.len(), rows);
    assert!(
        made.iter()
            .all(|r| !r.question.is_empty() && !r.answer.is_empty())
    );
    println!("{} {wall:.3} {cpu:.3}", rows * 2);
}
