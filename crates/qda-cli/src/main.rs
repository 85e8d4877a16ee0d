//! `qda`: the command line of the qda stack.

use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};

/// `println!` that ends quietly when stdout is gone (`qda info | head`).
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}
pub(crate) use out;

mod bench;
mod calculator;
mod exec;
mod info;
mod sdk;

/// qda — the Qualcomm DSP Accelerator (QDA / FastRPC) stack in userspace Rust.
///
/// Examples:
///   qda run calculator             run the calculator example (sum and max of 0..999)
///   qda info                       the board: domains, context banks, capabilities, heaps
///   qda daemon --socket S          serve the platform to other processes (see qdad)
///   QDA_SOCKET=S qda run calculator   run the example through that daemon
///   qda heap alloc system 16M      allocate from a dma-heap
///   qda bench                      invoke latencies and ratios against spin/futex ping-pongs
///   qda sc 0x02020100              decode a FastRPC scalars word
///   qda error 0x8000040d           explain an AEE code or an ioctl return value
///   qda sdk install --prefix DIR   the C SDK: libraries, headers, pkg-config files
///   qda exec -- ./app              run an unmodified FastRPC program on the board
///
/// Environment: QDA_BACKEND (kernel|daemon|embedded), QDA_SOCKET (the daemon's
/// socket), QDA_LOG or RUST_LOG (log filter, e.g. debug or qda::trace=info),
/// QDA_PD_MODE=thread (user PDs as threads), QDA_PD_HOST (another PD host program).
#[derive(Debug, Parser)]
#[command(name = "qda", version, about, long_about, verbatim_doc_comment)]
struct Cli {
    /// Force a backend: a real kernel's accel nodes, a running qdad (its
    /// socket: QDA_SOCKET, else the default), or the embedded platform
    /// (default: kernel if a node answers, else qdad if one listens, else
    /// embedded).
    #[arg(long, global = true, value_enum)]
    backend: Option<Backend>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Backend {
    /// /dev/accel/accelN of a real QDA driver.
    Kernel,
    /// A running qdad, through its socket.
    Daemon,
    /// The driver model and virtual DSPs in this process.
    Embedded,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run an example application (on the embedded platform unless a kernel
    /// node or a qdad answers).
    ///
    /// On the embedded platform the driver model and a virtual DSP per
    /// domain start in this process; through qdad they are the daemon's. The
    /// example talks to them through the raw QDA UAPI exactly as an
    /// application talks to /dev/accel/accelN on a device.
    Run {
        /// The example to run.
        example: Example,
        /// DSP domain to target.
        #[arg(long, short, default_value = "cdsp")]
        domain: String,
        /// Number of elements in the vector (0..N-1).
        #[arg(short = 'n', long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
        count: u32,
        /// Print each step and each invoke's result and time.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Show the board: DSP domains with their device nodes, context banks
    /// and capabilities, and the dma-heaps.
    Info {
        /// A device tree blob describing the board (default: the built-in board).
        #[arg(long)]
        dtb: Option<std::path::PathBuf>,
    },
    /// Serve the platform to other processes on a Unix socket (the same as
    /// `qdad`). Runs until SIGTERM or Ctrl-C, then shuts down in order.
    Daemon {
        /// A device tree blob describing the board (default: the built-in board).
        #[arg(long)]
        dtb: Option<std::path::PathBuf>,
        /// The socket (default: $XDG_RUNTIME_DIR/qda/qdad.sock, else /run/qda/qdad.sock).
        #[arg(long)]
        socket: Option<std::path::PathBuf>,
        /// Log every FastRPC call on stderr, decoded (the qda::trace target;
        /// QDA_LOG or RUST_LOG filter everything else).
        #[arg(long)]
        trace: bool,
        /// A group (name or number) whose members may connect too (socket
        /// 0660, directory 0750); without it only this user can (0600).
        #[arg(long)]
        group: Option<String>,
        /// A policy file (TOML) for who may do what; see `qdad --help`.
        #[arg(long)]
        policy: Option<std::path::PathBuf>,
        /// Run PD hosts as this user (`NAME` or `UID:GID`); never root.
        #[arg(long)]
        pd_user: Option<String>,
        /// The QDA UAPI revision the accel nodes answer (2026-02 or
        /// 2026-05); see `qdad --help`.
        #[arg(long, value_name = "2026-02|2026-05")]
        uapi_revision: Option<String>,
    },
    /// dma-heaps: list them, or allocate from one.
    Heap {
        #[command(subcommand)]
        cmd: HeapCmd,
        /// A device tree blob describing the board (default: the built-in board).
        #[arg(long, global = true)]
        dtb: Option<std::path::PathBuf>,
    },
    /// Latency tables: invokes, GEM and PRIME on the backend in use, beside
    /// spin and futex ping-pong baselines of the same hop count measured in
    /// the same run, with the ratios issue 13 sets targets for.
    ///
    /// Every call is timed on its own (p50, p99, p99.9, and calls per
    /// second); the workloads of a table run in alternating blocks, so a busy
    /// neighbour on the machine slows all of them alike and their ratios
    /// hold on a noisy VM. The tables, in order:
    ///
    /// 1. The null invoke in sleep mode and in poll mode (--budget-us), and
    ///    its baselines: a spin ping-pong (neighbouring threads pass a
    ///    counter through one atomic word, spinning) and a futex ping-pong
    ///    (the same, sleeping in FUTEX_WAIT, woken by FUTEX_WAKE), each a
    ///    chain of as many hops as the call makes (embedded thread PD 1,
    ///    process PD 2, qdad thread PD 2, qdad process PD 3: N hops, N + 1
    ///    threads), and the raw hops done with channels and sockets. The
    ///    futex chain runs twice: where the scheduler puts its threads
    ///    (two threads that wake each other often end up taking turns on
    ///    one CPU, a context switch with no other CPU to wake) and pinned
    ///    so that every hop crosses CPUs, as an invoke's hand-offs do.
    /// 2. The workloads in sleep mode (--poll: poll mode): null, 64 KiB
    ///    inline (through qdad also on an embedded platform in this
    ///    process whose PDs are the daemon's kind, for the ratio), 4 KiB
    ///    and 64 MiB by fd, GEM, PRIME, a memcpy.
    /// 3. Thread scaling (--threads): N callers, each its own thread, on one
    ///    shared session and handle, in both modes; total calls/s, p50, p99.
    /// 4. The null invoke in both modes beside two busy neighbour threads
    ///    (after a second's rest from the scaling table).
    /// 5. The ratios, each of numbers of this run, beside issue 13's target
    ///    and "met" (at or under it, as printed) or "not met"; "*" marks a
    ///    spin baseline slower than 1 µs per hop (its threads shared a CPU):
    ///    poll-mode null p50 ÷ spin ping-pong p50 (≤ 10× embedded thread PDs,
    ///    15× process PDs, 20× qdad); sleep-mode null p50 ÷ futex ping-pong
    ///    p50, each placement (≤ 1.5×); null ÷ raw hops (the earlier ≤ 3×, ≤ 2× qdad);
    ///    through qdad, 64 KiB inline ÷ the same call embedded (≤ 2×) and
    ///    4 KiB by fd ÷ null (≤ 1.3×); 64 MiB by fd ÷ 4 KiB by fd (≤ 1.1×);
    ///    poll p99 ÷ sleep p99 beside busy neighbours (≤ 2×); null invokes/s
    ///    with 2 callers in poll mode (≥ 300,000, embedded).
    ///
    /// The default run takes 10–30 s on 2 vCPUs; --quick a few seconds. For
    /// divan's statistics run `cargo bench -p qda`.
    #[command(verbatim_doc_comment)]
    Bench(bench::BenchArgs),
    /// Decode a FastRPC scalars word (the `sc` of an invoke).
    Sc {
        /// The word, hex (0x…) or decimal.
        #[arg(value_parser = parse_u32)]
        word: u32,
    },
    /// The C SDK: libadsprpc-compatible libraries, headers and pkg-config
    /// files for building FastRPC applications and skels against qda.
    Sdk {
        #[command(subcommand)]
        cmd: SdkCmd,
    },
    /// Run an unmodified program (linked against libfastrpc, the C API, or
    /// making the ioctls itself) with the board's device nodes.
    ///
    /// The program and its children see /dev/fastrpc-* (with -secure where
    /// the board has it), /dev/accel/accelN, /dev/dma_heap/*, /dev/udmabuf,
    /// /dev/subsys_<domain>, /sys/class/remoteproc/remoteprocN/name and
    /// /sys/firmware/devicetree/base/model, through libqda_preload.so
    /// (LD_PRELOAD, added to any already set). Their ioctls reach the
    /// embedded platform inside the program or a running qdad; dma-buf fds
    /// are real fds the program can mmap and pass on. Nothing is installed
    /// and no privilege is needed.
    ///
    /// Backend: --backend, else QDA_BACKEND (unless it says kernel), else
    /// the embedded platform with --dtb, else a qdad answering at QDA_SOCKET
    /// (or its default socket), else the embedded platform. Through qdad
    /// every process of the program shares one board; on the embedded
    /// platform each process image has its own.
    ///
    /// The program runs with QDA_BACKEND=kernel, so a program built on
    /// qda's own libraries makes real system calls, which the shim serves.
    ///
    /// Examples:
    ///   qda exec -- ./calculator                 the board in the program's process
    ///   qda exec --trace -- ./calculator         each device call on stderr
    ///   qda daemon --socket /tmp/q.sock &
    ///   QDA_SOCKET=/tmp/q.sock qda exec --backend daemon -- ./app
    ///   qda exec --uapi legacy -- ./app          show only the legacy nodes
    ///   qda exec --dtb board.dtb -- ./app        another board
    ///
    /// A fork()ed child keeps its fds but not its parent's device files (an
    /// ioctl on an inherited one is EIO); it opens its own (through qdad,
    /// or after exec). See docs/COMPAT.md, "What the shim intercepts".
    #[command(verbatim_doc_comment)]
    Exec {
        /// Which node kinds the program sees: legacy, both, or accel (the
        /// legacy UAPI translated onto a QDA accel node; not yet).
        #[arg(long, value_enum, default_value = "both")]
        uapi: exec::ShownUapi,
        /// A device tree blob describing the board (embedded platform; default: the built-in board).
        #[arg(long)]
        dtb: Option<std::path::PathBuf>,
        /// Print each device call the shim serves on stderr (QDA_PRELOAD_TRACE=1),
        /// and on the embedded platform each FastRPC call the DSP answers.
        #[arg(long)]
        trace: bool,
        /// The program and its arguments (after --).
        #[arg(
            trailing_var_arg = true,
            allow_hyphen_values = true,
            required = true,
            value_name = "PROG ARGS"
        )]
        command: Vec<std::ffi::OsString>,
    },
    /// Explain an AEE error code, a DSP return value or an ioctl result.
    Error {
        /// The code, hex (0x…) or decimal, negative for errno values.
        #[arg(value_parser = parse_i64, allow_hyphen_values = true)]
        code: i64,
    },
}

#[derive(Debug, Subcommand)]
enum HeapCmd {
    /// List the heaps (/dev/dma_heap/*) with their kind and size.
    List,
    /// Allocate SIZE bytes (4096, 64K, 16M, 1G) from heap NAME and report where.
    Alloc {
        /// Heap name, e.g. system, default_cma_region, dsp-pool@8b000000.
        name: String,
        /// Size, e.g. 4096, 64K, 16M.
        #[arg(value_parser = info::parse_size)]
        size: u64,
    },
}

#[derive(Debug, Subcommand)]
enum SdkCmd {
    /// Install the C SDK under a prefix, for building FastRPC C code
    /// (applications, qaic-style stubs and skels) against qda.
    ///
    /// What goes where (PREFIX is --prefix):
    ///   PREFIX/lib/libqda-rpc.so, libqda-rpc.a   the FastRPC application API (remote.h, rpcmem.h)
    ///   PREFIX/lib/libadsprpc.so, libcdsprpc.so, libsdsprpc.so
    ///                                         drop-ins for the originals (default domain ADSP, CDSP, SDSP)
    ///   PREFIX/libexec/qda/qda-pd-host        runs each user PD (a skel) in a process of its own
    ///   PREFIX/lib/libqda-preload.so          the shim `qda exec` preloads (unmodified programs)
    ///   PREFIX/include/*.h                    remote.h, rpcmem.h, AEEStdErr.h, AEEStdDef.h, HAP_*.h
    ///   PREFIX/lib/pkgconfig/qda-rpc.pc       for applications (with an rpath: no LD_LIBRARY_PATH needed)
    ///   PREFIX/lib/pkgconfig/qda-skel.pc      for skels: headers only, no library
    ///   PREFIX/lib/pkgconfig/{adsp,cdsp,sdsp}rpc.pc   for linking a drop-in by its name
    ///
    /// The libraries, qda-pd-host and the shim are taken from beside this qda binary
    /// (where `cargo build --release` leaves them); headers and pkg-config
    /// files are built in. Files an earlier install wrote are replaced; any
    /// other file in the way is refused unless --force.
    ///
    /// Afterwards:
    ///   export PKG_CONFIG_PATH=PREFIX/lib/pkgconfig
    ///   cc -o app app.c calculator_stub.c $(pkg-config --cflags --libs qda-rpc)
    ///   cc -shared -fPIC -o dsp/libcalculator_skel.so calculator_skel.c calculator_imp.c \
    ///      $(pkg-config --cflags qda-skel)
    ///   DSP_LIBRARY_PATH=$PWD/dsp ./app
    ///
    /// DSP_LIBRARY_PATH (directories separated by ';') is where the virtual
    /// DSP looks for lib<name>_skel.so before its built-in skels; through
    /// qdad it is the daemon's environment that counts.
    /// See examples/c/ in the qda sources for complete examples.
    #[command(verbatim_doc_comment)]
    Install {
        /// The directory to install under (created if missing), e.g. /usr/local or ~/.local.
        #[arg(long)]
        prefix: std::path::PathBuf,
        /// Replace files in the way that no qda install wrote.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Example {
    /// Sum and max of a vector, the Hexagon SDK's calculator example.
    Calculator,
}

fn parse_i64(s: &str) -> Result<i64, String> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let v = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(h) => i64::from_str_radix(h, 16),
        None => body.parse::<i64>(),
    }
    .map_err(|e| format!("'{s}' is not a number: {e}"))?;
    Ok(if neg { -v } else { v })
}

fn parse_u32(s: &str) -> Result<u32, String> {
    let v = parse_i64(s)?;
    u32::try_from(v).map_err(|_| format!("'{s}' does not fit in 32 bits"))
}

fn main() -> ExitCode {
    // A PD host started from this binary serves its PD and never returns.
    qda_dsp::pd_host::run_if_requested();
    let cli = Cli::parse();
    qdad::log::init(matches!(cli.command, Command::Daemon { trace: true, .. }));
    let backend = cli.backend.map(|b| match b {
        Backend::Kernel => qda::Backend::Kernel,
        Backend::Daemon => qda::Backend::Daemon,
        Backend::Embedded => qda::Backend::Embedded,
    });
    let result = match cli.command {
        Command::Run {
            example: Example::Calculator,
            domain,
            count,
            verbose,
        } => calculator::calculator(&domain, count, verbose, backend),
        Command::Bench(args) => bench::bench(&args, backend),
        Command::Info { dtb } => info::info(dtb.as_deref(), backend),
        Command::Heap {
            cmd: HeapCmd::List,
            dtb,
        } => info::heap_list(dtb.as_deref(), backend),
        Command::Heap {
            cmd: HeapCmd::Alloc { name, size },
            dtb,
        } => info::heap_alloc(dtb.as_deref(), backend, &name, size),
        Command::Daemon {
            dtb,
            socket,
            trace,
            group,
            policy,
            pd_user,
            uapi_revision,
        } => (|| {
            let uapi_revision = uapi_revision
                .as_deref()
                .map(qdad::server::parse_uapi_revision)
                .transpose()?;
            let pd_user = pd_user
                .as_deref()
                .map(qda_dsp::pd_host::PdUser::parse)
                .transpose()
                .map_err(|e| format!("--pd-user: {e}"))?;
            qda_dsp::pd_host::run_pd_hosts_as(pd_user);
            let group = group
                .as_deref()
                .map(qdad::server::group_id)
                .transpose()
                .map_err(|e| format!("--group: {e}"))?;
            let policy = policy
                .as_deref()
                .map(qdad::policy::Policy::from_file)
                .transpose()
                .map_err(|e| format!("--policy: {e}"))?;
            qdad::server::run(qdad::server::Config {
                dtb,
                socket: socket.unwrap_or_else(qdad::client::default_socket),
                trace,
                group,
                policy,
                uapi_revision,
                ..qdad::server::Config::new()
            })
        })(),
        Command::Exec {
            uapi,
            dtb,
            trace,
            command,
        } => exec::exec(exec::ExecRequest {
            backend,
            uapi,
            dtb,
            trace,
            command,
        }),
        Command::Sdk {
            cmd: SdkCmd::Install { prefix, force },
        } => sdk::install(&prefix, force),
        Command::Sc { word } => {
            let sc = qda_proto::Scalars(word);
            out!("{sc}");
            out!(
                "  attr {}  method {}  in buffers {}  out buffers {}  in handles {}  out handles {}  ({} arguments)",
                sc.attr(),
                sc.method(),
                sc.inbufs(),
                sc.outbufs(),
                sc.in_handles(),
                sc.out_handles(),
                sc.len()
            );
            Ok(())
        }
        Command::Error { code } => match i32::try_from(code).or_else(|_| u32::try_from(code).map(|v| v as i32)) {
            Ok(v) => {
                out!("{}", qda_uapi::aee::describe(v));
                Ok(())
            }
            Err(_) => Err(format!("{code} does not fit in 32 bits")),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qda: {e}");
            ExitCode::FAILURE
        }
    }
}
