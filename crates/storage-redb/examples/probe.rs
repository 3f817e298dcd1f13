#![allow(clippy::unwrap_used)]
use std::io::Write;
use std::time::Instant;
use kev_core::Store;
use kev_core::testkit::store::workload::typical_event;
use kev_storage_redb::{RedbOptions, RedbStore};

fn io() -> (u64, u64) {
    let s = std::fs::read_to_string("/proc/self/io").unwrap();
    let get = |k: &str| s.lines().find(|l| l.starts_with(k)).unwrap().split_whitespace().nth(1).unwrap().parse::<u64>().unwrap();
    (get("write_bytes:"), get("wchar:"))
}
fn cpu() -> f64 {
    let s = std::fs::read_to_string("/proc/self/stat").unwrap();
    let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
    (f[11].parse::<f64>().unwrap() + f[12].parse::<f64>().unwrap()) / 100.0
}
fn main() {
    if std::env::args().nth(1).as_deref() == Some("ratios") { ratios(); return; }
    let dir = tempfile::tempdir_in("/work/wt/storage/target").unwrap();
    // raw fsync latency
    {
        let mut f = std::fs::File::create(dir.path().join("raw")).unwrap();
        for size in [4096usize, 65536, 1 << 20] {
            let buf = vec![1u8; size];
            let t = Instant::now();
            for _ in 0..20 { f.write_all(&buf).unwrap(); f.sync_data().unwrap(); }
            println!("raw write {size} + fdatasync: {:.2} ms", t.elapsed().as_secs_f64() * 1000.0 / 20.0);
        }
    }
    let batches: u64 = std::env::args().nth(1).map_or(200, |s| s.parse().unwrap());
    for durable in [true, false] {
        let d = dir.path().join(format!("s{durable}"));
        let store = RedbStore::open(&d, RedbOptions { durable, ..RedbOptions::default() }).unwrap();
        let evs: Vec<Vec<_>> = (0..batches).map(|b| (b * 500..b * 500 + 500).map(typical_event).collect()).collect();
        let (w0, c0) = io();
        let cpu0 = cpu();
        let t = Instant::now();
        for b in &evs { store.append(b, None).unwrap(); }
        let el = t.elapsed().as_secs_f64();
        let (w1, c1) = io();
        let n = (batches * 500) as f64;
        println!("durable={durable}: {:.2} ms/batch, {:.0} ev/s wall, cpu {:.2} ms/batch, disk write {:.0} KiB/batch, wchar {:.0} KiB/batch",
            el * 1000.0 / batches as f64, n / el, (cpu() - cpu0) * 1000.0 / batches as f64, (w1 - w0) as f64 / 1024.0 / batches as f64, (c1 - c0) as f64 / 1024.0 / batches as f64);
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(d.join("kev.redb")).unwrap();
        println!("  allocated {:.0} B/event, len {:.0} B/event", (m.blocks() * 512) as f64 / n, m.len() as f64 / n);
    }
}
#[allow(dead_code)]
pub fn ratios() {
    use kev_core::store::codec::encode_event;
    let n = 20_000u64;
    let recs: Vec<Vec<u8>> = (0..n).map(|i| { let mut b = Vec::new(); encode_event(&typical_event(i), &mut b); b }).collect();
    let raw: usize = recs.iter().map(Vec::len).sum();
    println!("raw {:.0} B/event", raw as f64 / n as f64);
    for chunk in [16usize, 32, 64, 128, 500] {
        for (name, f) in [
            ("lz4", &(|d: &[u8]| lz4_flex::block::compress(d).len()) as &dyn Fn(&[u8]) -> usize),
            ("zstd1", &|d: &[u8]| zstd::bulk::compress(d, 1).unwrap().len()),
            ("zstd3", &|d: &[u8]| zstd::bulk::compress(d, 3).unwrap().len()),
        ] {
            let t = Instant::now();
            let mut total = 0;
            for c in recs.chunks(chunk) { total += f(&c.concat()); }
            let el = t.elapsed().as_secs_f64();
            // decompress timing
            println!("chunk {chunk:3} {name}: {:.0} B/event, compress {:.2} us/event", total as f64 / n as f64, el * 1e6 / n as f64);
        }
        let c = recs[..chunk].concat();
        let z = zstd::bulk::compress(&c, 1).unwrap();
        let l = lz4_flex::block::compress(&c);
        let t = Instant::now();
        for _ in 0..200 { std::hint::black_box(zstd::bulk::decompress(&z, c.len()).unwrap()); }
        let tz = t.elapsed().as_secs_f64() / 200.0;
        let t = Instant::now();
        for _ in 0..200 { std::hint::black_box(lz4_flex::block::decompress(&l, c.len()).unwrap()); }
        let tl = t.elapsed().as_secs_f64() / 200.0;
        println!("chunk {chunk:3}: decompress zstd {:.1} us, lz4 {:.1} us per chunk", tz * 1e6, tl * 1e6);
    }
}
