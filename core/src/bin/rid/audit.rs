//! `rid audit verify|tail|explain|export`.

use std::collections::VecDeque;
use std::io::{BufRead, Read, Seek, SeekFrom, Write};
use std::time::Duration;

use runtime_identity::audit::{parse_timestamp, verify_folder_log, AuditEvent, EventFilter, VerifyReport, LOG_FILE};
use runtime_identity::internal::parse_duration;
use runtime_identity::store::SqliteStore;
use runtime_identity::{resolve_home, RuntimeOptions};
use runtime_identity::{Effect, Error, ErrorCode, Result, Runtime};

use crate::args::{AuditCommand, Cli, ExportArgs, ExportFormat, TailArgs};
use crate::output::{printable, Out};

/// Exit status of `rid audit verify` when the log has been tampered with.
const EXIT_TAMPERED: i32 = 4;

pub fn run(cli: &Cli, cmd: &AuditCommand, out: &Out) -> Result<()> {
    let opened = crate::open(cli, false, RuntimeOptions::default());
    let rt = match (cmd, opened) {
        (AuditCommand::Verify, Err(e)) if e.code() == ErrorCode::AuditCorrupt => {
            // The runtime refuses a log that does not end where the store's anchor says (or
            // whose last line is broken): verify the file against the store to say what is wrong.
            let home = resolve_home(cli.home.as_deref());
            let store = SqliteStore::open(&home)?;
            return report_verify(&verify_folder_log(&store, &home.join(LOG_FILE))?, out);
        }
        (_, opened) => opened?,
    };
    match cmd {
        AuditCommand::Verify => report_verify(&rt.audit().verify()?, out),
        AuditCommand::Tail(a) => tail(&rt, a, out),
        AuditCommand::Explain(a) => {
            // The trail's stored strings are already printable (`Provenance`'s Display).
            let p = rt.audit().explain(&a.decision_id)?;
            out.value(&p, |_| p.to_string().trim_end().to_owned())
        }
        AuditCommand::Export(a) => export(&rt, a),
    }
}

fn report_verify(report: &VerifyReport, out: &Out) -> Result<()> {
    {
        {
            out.value(&report, |_| {
                if report.ok {
                    format!(
                        "audit log intact: {} events, {} signed checkpoints, head seq {}{}",
                        report.events,
                        report.checkpoints,
                        report.last_seq,
                        report.stored_checkpoint.map(|s| format!(", store checkpoint at seq {s}")).unwrap_or_default()
                    )
                } else {
                    format!(
                        "audit log TAMPERED: {} at seq {}: {}",
                        report.kind.map(|k| k.as_str()).unwrap_or("-"),
                        report.first_bad_seq.unwrap_or(0),
                        printable(report.message.as_deref().unwrap_or_default())
                    )
                }
            })?;
            if !report.ok {
                std::io::stdout().flush().ok();
                std::process::exit(EXIT_TAMPERED);
            }
            Ok(())
        }
    }
}

fn filter_of(a: &ExportArgs, now_ms: i64) -> Result<EventFilter> {
    let effect = a
        .effect
        .as_deref()
        .map(|e| match e {
            "allow" => Ok(Effect::Allow),
            "deny" => Ok(Effect::Deny),
            "require_approval" => Ok(Effect::RequireApproval),
            other => Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("effect `{other}` is not allow, deny or require_approval"),
            )),
        })
        .transpose()?;
    Ok(EventFilter {
        since_ms: a.since.as_deref().map(|s| time_arg(s, now_ms)).transpose()?,
        until_ms: a.until.as_deref().map(|s| time_arg(s, now_ms)).transpose()?,
        actor: a.actor.clone(),
        on_behalf_of: a.on_behalf_of.clone(),
        action: a.action.clone(),
        effect,
        decision_id: a.decision_id.clone(),
        kind: a.r#type.clone(),
        limit: None,
    })
}

/// An RFC 3339 time, Unix seconds, or a duration ago (`15m`).
fn time_arg(s: &str, now_ms: i64) -> Result<i64> {
    if let Some(ms) = parse_timestamp(s) {
        return Ok(ms);
    }
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs.saturating_mul(1000));
    }
    match parse_duration(s) {
        Ok(ago) => Ok(now_ms.saturating_sub(i64::try_from(ago).unwrap_or(i64::MAX).saturating_mul(1000))),
        Err(_) => Err(Error::new(
            ErrorCode::InvalidArgument,
            format!("`{s}` is not an RFC 3339 time, Unix seconds, or a duration such as `15m`"),
        )),
    }
}

fn export(rt: &Runtime, a: &ExportArgs) -> Result<()> {
    let filter = filter_of(a, rt.options().clock.now_ms())?;
    let stdout = std::io::stdout();
    let mut w = stdout.lock();
    let io = |e: std::io::Error| Error::new(ErrorCode::InternalError, format!("cannot write: {e}"));
    match a.format {
        ExportFormat::ProvJson => {
            let doc = rt.audit().export_prov(&filter)?;
            writeln!(w, "{}", serde_json::to_string_pretty(&doc).unwrap_or_default()).map_err(io)
        }
        ExportFormat::Jsonl => {
            // The lines exactly as stored, so that the export still verifies.
            for line in rt.audit().read_raw()?.split(b'\n') {
                let line = line.map_err(|e| Error::new(ErrorCode::AuditUnavailable, e.to_string()))?;
                let Ok(ev) = serde_json::from_slice::<AuditEvent>(&line) else { continue };
                if filter.matches(&ev) {
                    w.write_all(&line).map_err(io)?;
                    w.write_all(b"\n").map_err(io)?;
                }
            }
            Ok(())
        }
    }
}

/// One line per event for people, every stored string [`printable`].
fn summary(ev: &AuditEvent) -> String {
    let o = |v: &Option<String>| printable(v.as_deref().unwrap_or_default()).into_owned();
    let detail = match ev.kind.as_str() {
        "decision" => format!(
            "{} {} on {} by {} for {} ({})",
            ev.effect.map(Effect::as_str).unwrap_or("-"),
            o(&ev.action),
            o(&ev.resource),
            o(&ev.actor),
            o(&ev.on_behalf_of),
            ev.reasons.first().map(|r| r.code.as_str()).unwrap_or("-")
        ),
        "outcome" => format!(
            "{} of {}{}",
            printable(ev.outcome.as_ref().map(|x| x.status.as_str()).unwrap_or("-")),
            o(&ev.decision_id),
            ev.outcome
                .as_ref()
                .and_then(|x| x.error.as_ref())
                .map(|e| format!(" ({})", printable(e)))
                .unwrap_or_default()
        ),
        "checkpoint" => {
            format!("signed by {}", printable(ev.checkpoint.as_ref().map(|c| c.kid.as_str()).unwrap_or("-")))
        }
        k if k.starts_with("agent.") => format!("{} (owner {})", o(&ev.agent), o(&ev.owner)),
        k if k.starts_with("grant.") => {
            format!("{} to {} for {}", o(&ev.grant_id), o(&ev.actor), o(&ev.on_behalf_of))
        }
        k if k.starts_with("approval.") => {
            format!(
                "{} {} on {}{}",
                o(&ev.approval_id),
                o(&ev.action),
                o(&ev.resource),
                ev.approver.as_ref().map(|a| format!(" by {}", printable(a))).unwrap_or_default()
            )
        }
        _ => o(&ev.message),
    };
    format!("{:>6} {} {:<18} {detail}", ev.seq, printable(&ev.ts), printable(&ev.kind))
}

fn print_line(line: &[u8], out: &Out) {
    match (out.json, serde_json::from_slice::<serde_json::Value>(line)) {
        // The line as stored: exact JSON.
        (true, Ok(_)) => println!("{}", String::from_utf8_lossy(line)),
        (true, Err(_)) => println!("{}", serde_json::json!({"not_an_event": String::from_utf8_lossy(line)})),
        (false, _) => match serde_json::from_slice::<AuditEvent>(line) {
            Ok(ev) => println!("{}", summary(&ev)),
            Err(_) => println!("(not an event) {}", printable(&String::from_utf8_lossy(line))),
        },
    }
}

fn tail(rt: &Runtime, a: &TailArgs, out: &Out) -> Result<()> {
    let mut last: VecDeque<Vec<u8>> = VecDeque::with_capacity(a.lines + 1);
    for line in rt.audit().read_raw()?.split(b'\n') {
        let line = line.map_err(|e| Error::new(ErrorCode::AuditUnavailable, e.to_string()))?;
        if line.is_empty() {
            continue;
        }
        last.push_back(line);
        if last.len() > a.lines {
            last.pop_front();
        }
    }
    for line in &last {
        print_line(line, out);
    }
    std::io::stdout().flush().ok();
    if !a.follow {
        return Ok(());
    }
    let path = rt.audit().path().map(std::path::Path::to_path_buf).unwrap_or_else(|| LOG_FILE.into());
    let unavailable =
        |e: std::io::Error| Error::new(ErrorCode::AuditUnavailable, format!("cannot follow the log: {e}"));
    let mut file = std::fs::File::open(&path).map_err(unavailable)?;
    let mut pos = file.seek(SeekFrom::End(0)).map_err(unavailable)?;
    let mut partial: Vec<u8> = Vec::new();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let len = file.metadata().map_err(unavailable)?.len();
        if len < pos {
            // A torn line was set aside: continue from the new end.
            pos = len;
            partial.clear();
        }
        if len == pos {
            continue;
        }
        let mut buf = Vec::new();
        file.seek(SeekFrom::Start(pos)).map_err(unavailable)?;
        (&mut file).take(len - pos).read_to_end(&mut buf).map_err(unavailable)?;
        pos = len;
        partial.extend_from_slice(&buf);
        while let Some(i) = partial.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = partial.drain(..=i).collect();
            print_line(line.strip_suffix(b"\n").unwrap_or(&line), out);
        }
        std::io::stdout().flush().ok();
    }
}
