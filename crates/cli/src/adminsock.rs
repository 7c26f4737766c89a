//! `doorstep admin` and `doorstep export` while `doorstep serve` holds the SQLite file: the
//! running server listens on a Unix socket beside the database (`FILE.admin.sock`, mode 0600, so
//! only the service's user, and root, may use it) and runs the command itself, on its own store,
//! so nothing needs a stop. The command travels as it was parsed, with the files it reads; what it
//! says and the files it writes come back.
//!
//! One request per connection: a line of JSON ([`Request`]), then each input file's bytes in
//! order; one answer: a line of JSON ([`Answer`]), then each output file's bytes.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};

use crate::admin::{AdminCommand, Input, Said};

/// The longest request line (the command and the files' names and sizes).
const MAX_LINE: u64 = 1 << 20;

/// Where the server that holds `db_file` listens.
pub fn socket_path(db_file: &Path) -> PathBuf {
    PathBuf::from(format!("{}.admin.sock", db_file.display()))
}

/// A command the running server does for the caller.
#[derive(Serialize, Deserialize)]
pub enum Forwarded {
    Admin(AdminCommand),
    Export(crate::ExportArgs),
}

impl Forwarded {
    fn inputs(&mut self) -> Vec<&mut PathBuf> {
        match self {
            Forwarded::Admin(c) => c.input_files(),
            Forwarded::Export(_) => Vec::new(),
        }
    }

    fn outputs(&mut self) -> Vec<&mut PathBuf> {
        match self {
            Forwarded::Admin(c) => c.output_files(),
            Forwarded::Export(a) => vec![&mut a.out],
        }
    }
}

#[derive(Serialize, Deserialize)]
struct Request {
    command: Forwarded,
    input: Input,
    /// The sizes of the input files that follow, in [`Forwarded::inputs`] order.
    files: Vec<u64>,
}

#[derive(Serialize, Deserialize)]
struct Answer {
    said: Said,
    /// The command's error, if it failed.
    error: Option<String>,
    /// The sizes of the output files that follow, in [`Forwarded::outputs`] order.
    files: Vec<u64>,
}

/// Sends `command` to the server holding `db_file`, and says and writes what it answers.
pub async fn forward(db_file: &Path, mut command: Forwarded, input: Input) -> Result<()> {
    let socket = socket_path(db_file);
    let mut stream = UnixStream::connect(&socket).await.with_context(|| {
        format!(
            "a running `doorstep serve` holds {}, but its admin socket {} does not answer (run this as the \
             server's user, e.g. `sudo -u doorstep`, or stop the server first)",
            db_file.display(),
            socket.display()
        )
    })?;
    if let Forwarded::Admin(c) = &mut command {
        c.settle_names();
    }
    let inputs: Vec<PathBuf> = command.inputs().into_iter().map(|p| p.clone()).collect();
    let outputs: Vec<PathBuf> = command.outputs().into_iter().map(|p| p.clone()).collect();
    let mut sizes = Vec::new();
    for path in &inputs {
        sizes.push(std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len());
    }
    let mut line = serde_json::to_vec(&Request { command, input, files: sizes })?;
    line.push(b'\n');
    stream.write_all(&line).await?;
    for path in &inputs {
        let mut file = tokio::fs::File::open(path).await.with_context(|| format!("reading {}", path.display()))?;
        tokio::io::copy(&mut file, &mut stream).await.with_context(|| format!("sending {}", path.display()))?;
    }
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    (&mut reader).take(MAX_LINE).read_line(&mut answer).await?;
    let answer: Answer =
        serde_json::from_str(&answer).context("the server's admin socket answered something unreadable")?;
    for (path, len) in outputs.iter().zip(&answer.files) {
        let mut file = tokio::fs::File::create(path).await.with_context(|| format!("writing {}", path.display()))?;
        let copied = tokio::io::copy(&mut (&mut reader).take(*len), &mut file).await?;
        anyhow::ensure!(copied == *len, "{}: the server sent {copied} of {len} bytes", path.display());
    }
    answer.said.print();
    match answer.error {
        Some(e) => Err(anyhow::anyhow!(e)),
        None => Ok(()),
    }
}

/// Removes the socket when the server stops.
pub struct Listening(PathBuf);

impl Drop for Listening {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Listens beside `db_file` for commands, and runs them on `store` while the server serves.
pub fn listen(db_file: &Path, store: Arc<dyn doorstep_server::Store>) -> Result<Listening> {
    use std::os::unix::fs::PermissionsExt;
    let path = socket_path(db_file);
    // This process holds the database's lock, so a socket left there is a dead server's.
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).with_context(|| format!("cannot listen on {}", path.display()))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .with_context(|| format!("cannot restrict {}", path.display()))?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let store = store.clone();
            tokio::spawn(async move {
                if let Err(e) = answer(stream, store).await {
                    tracing::warn!(error = %e, "an admin command through the socket failed to arrive or answer");
                }
            });
        }
    });
    tracing::info!(socket = %path.display(), "doorstep admin and export run through this socket while the server runs");
    Ok(Listening(path))
}

async fn answer(stream: UnixStream, store: Arc<dyn doorstep_server::Store>) -> Result<()> {
    let (read, mut write) = stream.into_split();
    let mut reader = BufReader::new(read);
    let mut line = String::new();
    (&mut reader).take(MAX_LINE).read_line(&mut line).await?;
    let Request { mut command, input, files } = serde_json::from_str(&line).context("an unreadable admin request")?;
    // The files land in a folder of the server's own, under their own names (which the commands
    // write into the audit log), and the caller's paths are put back in whatever is said.
    let dir = tempfile::tempdir()?;
    let mut caller_paths: HashMap<String, String> = HashMap::new();
    let inputs = command.inputs();
    anyhow::ensure!(inputs.len() == files.len(), "the request names {} files and sends {}", inputs.len(), files.len());
    for (i, (path, len)) in inputs.into_iter().zip(files).enumerate() {
        let name = path.file_name().map(|n| n.to_os_string()).unwrap_or_else(|| "file".into());
        let here = dir.path().join(format!("in-{i}")).join(name);
        std::fs::create_dir_all(here.parent().unwrap_or(dir.path()))?;
        let mut file = tokio::fs::File::create(&here).await?;
        let copied = tokio::io::copy(&mut (&mut reader).take(len), &mut file).await?;
        anyhow::ensure!(copied == len, "{}: {copied} of {len} bytes arrived", path.display());
        caller_paths.insert(here.display().to_string(), path.display().to_string());
        *path = here;
    }
    let mut outputs = Vec::new();
    for (i, path) in command.outputs().into_iter().enumerate() {
        let here = dir.path().join(format!("out-{i}"));
        caller_paths.insert(here.display().to_string(), path.display().to_string());
        *path = here.clone();
        outputs.push(here);
    }
    let mut said = Said::default();
    let done = match command {
        Forwarded::Admin(c) => {
            tracing::info!("an admin command through the socket");
            crate::admin::run(store.as_ref(), c, &input, &mut said).await
        }
        Forwarded::Export(a) => crate::run_export(store.as_ref(), &a, &mut said).await,
    };
    let put_back = |mut text: String| {
        for (here, there) in &caller_paths {
            text = text.replace(here, there);
        }
        text
    };
    let mut sizes = Vec::new();
    let mut bodies = Vec::new();
    if done.is_ok() {
        for path in &outputs {
            let bytes = std::fs::read(path).unwrap_or_default();
            sizes.push(bytes.len() as u64);
            bodies.push(bytes);
        }
    }
    let answer = Answer {
        said: Said { stdout: put_back(said.stdout), stderr: put_back(said.stderr) },
        error: done.err().map(|e| put_back(format!("{e:#}"))),
        files: sizes,
    };
    let mut line = serde_json::to_vec(&answer)?;
    line.push(b'\n');
    write.write_all(&line).await?;
    for body in bodies {
        write.write_all(&body).await?;
    }
    write.shutdown().await?;
    Ok(())
}
