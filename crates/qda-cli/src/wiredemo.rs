//! The wire-level calculator run: host packing, DSP decoding and the
//! calculator's arithmetic on the decoded view, host unpacking.

use qda_proto::bodies::Call;
use qda_proto::payload::{DspMemory, MemFault};
use qda_proto::{ArgDesc, CtxLayout, DecodedArg, FastrpcMsg, PdType, Plan, Scalars, decode};

/// DSP address space of the demo: SID 3 (the first CDSP context bank).
const SID: u64 = 3;
const PAYLOAD_IOVA: u64 = 0x0004_0000;
const VECTOR_IOVA: u64 = 0x0010_0000;
/// Where the client's mapping of the vector buffer lives.
const VECTOR_VA: u64 = 0x7f12_3450_0000;
const CALCULATOR_HANDLE: u32 = 0x10;

/// The DSP's memory: regions by DSP address (what the SMMU will translate).
#[derive(Debug, Default)]
struct Regions(Vec<(u64, Vec<u8>)>);

impl Regions {
    fn find(&self, addr: u64, len: usize) -> Result<(usize, usize), MemFault> {
        for (k, (base, r)) in self.0.iter().enumerate() {
            if addr >= *base && (addr - base).saturating_add(len as u64) <= r.len() as u64 {
                return Ok((k, (addr - base) as usize));
            }
        }
        Err(MemFault { addr, len })
    }
}

impl DspMemory for Regions {
    fn read(&self, addr: u64, dst: &mut [u8]) -> Result<(), MemFault> {
        let (k, o) = self.find(addr, dst.len())?;
        dst.copy_from_slice(&self.0[k].1[o..o + dst.len()]);
        Ok(())
    }
    fn write(&mut self, addr: u64, src: &[u8]) -> Result<(), MemFault> {
        let (k, o) = self.find(addr, src.len())?;
        self.0[k].1[o..o + src.len()].copy_from_slice(src);
        Ok(())
    }
}

pub fn calculator(domain: &str, n: u32, verbose: bool) -> Result<(), String> {
    const DOMAINS: [&str; 7] = ["adsp", "mdsp", "sdsp", "cdsp", "cdsp1", "gdsp0", "gdsp1"];
    if !DOMAINS.contains(&domain) {
        return Err(format!(
            "unknown domain '{domain}' (expected one of: {})",
            DOMAINS.join(", ")
        ));
    }
    // rpcmem_alloc + fill 0..n-1, as the calculator example does.
    let vector: Vec<u8> = (0..n as i32).flat_map(i32::to_le_bytes).collect();
    let buf_size = (vector.len() as u64).next_multiple_of(4096);
    let mut dsp = Regions::default();
    let buf_addr = SID << 32 | VECTOR_IOVA;
    let mut backing = vector.clone();
    backing.resize(buf_size as usize, 0);
    dsp.0.push((buf_addr, backing));

    println!("qda run calculator on {domain}: wire-level run (the driver model and the virtual DSP");
    println!("arrive with the next issues); every call below is real FastRPC bytes.");
    let sum = call(&mut dsp, 2, n, buf_addr, buf_size, 8, verbose)?;
    let sum = i64::from_le_bytes(sum.try_into().map_err(|_| "sum output is not 8 bytes")?);
    println!("Sum = {sum}");
    let max = call(&mut dsp, 3, n, buf_addr, buf_size, 4, verbose)?;
    let max = i32::from_le_bytes(max.try_into().map_err(|_| "max output is not 4 bytes")?);
    println!("Max value = {max}");
    Ok(())
}

/// One calculator method: in0 = u32 count (inline), in1 = int32[count] by
/// dma-buf, out0 = result (inline).
fn call(
    dsp: &mut Regions,
    method: u8,
    n: u32,
    buf_addr: u64,
    buf_size: u64,
    out_len: u64,
    verbose: bool,
) -> Result<Vec<u8>, String> {
    let sc = Scalars::make(method, 2, 1);
    let call = Call::new(CALCULATOR_HANDLE, sc)
        .input(n.to_le_bytes())
        .arg(
            ArgDesc::DmaBuf {
                ptr: VECTOR_VA,
                len: 4 * n as u64,
                buf_addr,
                buf_size,
                offset: 0,
            },
            Vec::new(),
        )
        .output(out_len);
    // Host: plan and pack into a payload buffer in the caller's context bank.
    let payload_addr = SID << 32 | PAYLOAD_IOVA;
    let (plan, payload) = call.pack(payload_addr).map_err(|e| format!("pack: {e}"))?;
    let msg = FastrpcMsg {
        client_id: 1,
        tid: std::process::id() as i32,
        ctx: CtxLayout::KERNEL.encode(1, PdType::User),
        handle: call.handle,
        sc: sc.0,
        addr: payload_addr,
        size: plan.msg_size(),
    };
    dsp.0.retain(|(b, _)| *b != payload_addr);
    dsp.0.push((payload_addr, payload));

    // DSP: read the metadata through its memory, decode, compute.
    let mut meta = vec![0u8; plan.meta().metalen()];
    dsp.read(msg.addr, &mut meta).map_err(|e| format!("DSP: {e}"))?;
    let decoded = decode(Scalars(msg.sc), &meta).map_err(|e| format!("DSP decode: {e}"))?;
    if verbose {
        print_call(&msg, &plan, &decoded.args);
    }
    let count_bytes = decoded.read_buf(0, dsp).map_err(|e| format!("DSP: {e}"))?;
    let count = u32::from_le_bytes(count_bytes.try_into().map_err(|_| "DSP: count is not 4 bytes")?);
    let vec = decoded.read_buf(1, dsp).map_err(|e| format!("DSP: {e}"))?;
    if vec.len() as u64 != 4 * count as u64 {
        return Err(format!("DSP: vector of {} bytes for count {count}", vec.len()));
    }
    let values = vec
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]));
    let out: Vec<u8> = match method {
        2 => values.map(i64::from).sum::<i64>().to_le_bytes().to_vec(),
        _ => values.max().unwrap_or(i32::MIN).to_le_bytes().to_vec(),
    };
    decoded
        .write_out(2, &out, &mut meta, dsp)
        .map_err(|e| format!("DSP: {e}"))?;
    dsp.write(msg.addr, &meta).map_err(|e| format!("DSP: {e}"))?;

    // Host: unpack from the payload after the response.
    let idx = dsp
        .find(payload_addr, plan.pkt_size() as usize)
        .map_err(|e| e.to_string())?
        .0;
    let outs = Call::outputs(&plan, &dsp.0[idx].1).map_err(|e| format!("unpack: {e}"))?;
    Ok(outs[2].clone())
}

fn print_call(msg: &FastrpcMsg, plan: &Plan, args: &[DecodedArg]) {
    println!(
        "  msg  client {} tid {} ctx 0x{:x} handle 0x{:x} sc {} addr 0x{:x} size {}",
        msg.client_id,
        msg.tid,
        msg.ctx,
        msg.handle,
        Scalars(msg.sc),
        msg.addr,
        msg.size
    );
    println!(
        "  payload {} bytes (metadata {} bytes)",
        plan.pkt_size(),
        plan.meta().metalen()
    );
    for (i, a) in args.iter().enumerate() {
        match a {
            DecodedArg::Buf { addr, len, pv, page } => println!(
                "    arg {i}: buffer {len:>5} bytes at DSP 0x{addr:x} (pv 0x{pv:x}, page 0x{:x}+{}){}",
                page.addr,
                page.size,
                if plan.slot(i).is_some() { " inline" } else { " dma-buf" }
            ),
            DecodedArg::Handle { fd, offset, len, .. } => {
                println!("    arg {i}: handle fd {fd} offset {offset} len {len}")
            }
        }
    }
}
