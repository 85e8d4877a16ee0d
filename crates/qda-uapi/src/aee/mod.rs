//! AEE error codes: the status words FastRPC peers exchange (libfastrpc
//! `inc/AEEStdErr.h`).
//!
//! # Encoding
//!
//! Most codes are `AEE_EOFFSET + base`. `AEE_EOFFSET` is 0 when the header is
//! compiled for the CPU and [`AEE_EOFFSET_DSP`] (0x8000_0400) when compiled for
//! Hexagon, so an error produced on the DSP arrives as `0x8000_0400 + base` (e.g.
//! `AEE_EUNSUPPORTED` = base 0x14 → 0x8000_0414). The legacy FastRPC driver passes
//! such DSP return values through to userspace verbatim.
//!
//! A few codes are *fixed*: they carry no offset on either side
//! ([`AeeCode::SUCCESS`] 0, [`AeeCode::EUNKNOWN`] −1, [`AeeCode::ENOSUCH`] 39,
//! [`AeeCode::EINTERRUPTED`] 46, [`AeeCode::ECONNRESET`] 104,
//! [`AeeCode::EWOULDBLOCK`] 516).
//!
//! [`AeeCode`] wraps the raw status as a `u32`. The same bits are usually held in
//! a C `int`; use [`AeeCode::from_i32`] / [`AeeCode::as_i32`] for that view
//! (`0x8000_0414` is `-2147482604` as `i32`; `AEE_EUNKNOWN` is `-1`).
//!
//! # Names
//!
//! The table [`AEE_TABLE`] lists every code of the header (names and values are
//! facts from the header; the one-line descriptions are our own wording). It is
//! the union of two header versions seen in `qualcomm/fastrpc`: one defines
//! `AEE_EINVALIDJOB`/`AEE_EBUSY` (0x182/0x183) and `AEE_EBADHANDLE`, another
//! defines `AEE_ENOSESSION` (0x08A) and `AEE_ESTUBSKELVERMISMATCH` (0x194).
//!
//! Aliases (same value, different name; [`AeeCode::name`] returns the primary):
//! `AEE_EINVHANDLE` = `AEE_EBADHANDLE` (0x02C), `AEE_ENOSUCHGROUP` =
//! `AEE_ENOSUCHJOB` (0x084). The 0x100 group is named `AEE_EGLINK*` in the
//! Hexagon build and `AEE_ESMD*` in the CPU build (0x100–0x103 only), so the
//! name depends on the side the code came from.
//!
//! One genuine collision exists on the CPU side: fixed `AEE_ECONNRESET` (104) has
//! the same value as CPU-side `AEE_ENORPCMEMORY` (0 + 0x068). [`AeeCode::name`]
//! returns `AEE_ECONNRESET`; the [`Display`](core::fmt::Display) text mentions both.

use core::fmt;

/// Offset added to every non-fixed code when produced on the DSP
/// (`DSP_AEE_EOFFSET`).
pub const AEE_EOFFSET_DSP: u32 = 0x8000_0400;
/// Offset of non-fixed codes when produced on the CPU (`AEE_EOFFSET` in a CPU
/// build).
pub const AEE_EOFFSET_CPU: u32 = 0;

/// Whether a table entry is offset-relative or a fixed value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AeeEncoding {
    /// `AEE_EOFFSET + value`: `value` on the CPU, `0x8000_0400 + value` from the DSP.
    Offset,
    /// The code is exactly `value` on both sides.
    Fixed,
}

/// Which build of the header defines a table entry's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AeeSide {
    /// Defined in both the CPU and the Hexagon build.
    Both,
    /// Defined only when compiled for Hexagon (the `AEE_EGLINK*` names).
    Dsp,
    /// Defined only when compiled for the CPU (the `AEE_ESMD*` names).
    Cpu,
}

/// One row of [`AEE_TABLE`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AeeInfo {
    /// The C macro name, e.g. `"AEE_EUNSUPPORTED"`.
    pub name: &'static str,
    /// Base value for [`AeeEncoding::Offset`], the full value for
    /// [`AeeEncoding::Fixed`].
    pub value: u32,
    /// How `value` becomes a status word.
    pub encoding: AeeEncoding,
    /// Which header build defines the name.
    pub side: AeeSide,
    /// `true` if another row with the same value and side is the primary name.
    pub alias: bool,
    /// One-line description (our own wording).
    pub description: &'static str,
}

/// A raw AEE status word (see the [module docs](self) for the encoding).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct AeeCode(pub u32);

macro_rules! aee_table {
    (@enc off) => { AeeEncoding::Offset };
    (@enc fixed) => { AeeEncoding::Fixed };
    (@side both) => { AeeSide::Both };
    (@side dsp) => { AeeSide::Dsp };
    (@side cpu) => { AeeSide::Cpu };
    (@alias prim) => { false };
    (@alias alias) => { true };
    ($( $konst:ident $name:literal $enc:ident $val:literal $side:ident $alias:ident $desc:literal; )*) => {
        impl AeeCode {
            $(
                #[doc = concat!("`", $name, "`: ", $desc, ".")]
                #[doc = ""]
                #[doc = "Value as produced on the CPU; use [`AeeCode::to_dsp`] for the DSP form of offset codes."]
                pub const $konst: AeeCode = AeeCode($val);
            )*
        }

        /// Every AEE code name of libfastrpc's `AEEStdErr.h`, with value, encoding,
        /// side and a short description. Ordered by value within each group.
        pub static AEE_TABLE: &[AeeInfo] = &[
            $(
                AeeInfo {
                    name: $name,
                    value: $val,
                    encoding: aee_table!(@enc $enc),
                    side: aee_table!(@side $side),
                    alias: aee_table!(@alias $alias),
                    description: $desc,
                },
            )*
        ];
    };
}

aee_table! {
    SUCCESS "AEE_SUCCESS" fixed 0x0000_0000 both prim "no error";
    EUNKNOWN "AEE_EUNKNOWN" fixed 0xFFFF_FFFF both prim "unspecified failure (catch-all, discouraged)";
    ENOSUCH "AEE_ENOSUCH" fixed 39 both prim "no such name, port or socket";
    EINTERRUPTED "AEE_EINTERRUPTED" fixed 46 both prim "waiting call was interrupted; return to the host OS and retry";
    ECONNRESET "AEE_ECONNRESET" fixed 104 both prim "connection reset by the peer";
    EWOULDBLOCK "AEE_EWOULDBLOCK" fixed 516 both prim "operation would block; wait and try again";

    EFAILED "AEE_EFAILED" off 0x001 both prim "generic failure";
    ENOMEMORY "AEE_ENOMEMORY" off 0x002 both prim "out of memory";
    ECLASSNOTSUPPORT "AEE_ECLASSNOTSUPPORT" off 0x003 both prim "requested class is not supported";
    EVERSIONNOTSUPPORT "AEE_EVERSIONNOTSUPPORT" off 0x004 both prim "requested version is not supported";
    EALREADYLOADED "AEE_EALREADYLOADED" off 0x005 both prim "object is already loaded";
    EUNABLETOLOAD "AEE_EUNABLETOLOAD" off 0x006 both prim "object or module could not be loaded";
    EUNABLETOUNLOAD "AEE_EUNABLETOUNLOAD" off 0x007 both prim "object or module could not be unloaded";
    EALARMPENDING "AEE_EALARMPENDING" off 0x008 both prim "an alarm is still pending";
    EINVALIDTIME "AEE_EINVALIDTIME" off 0x009 both prim "time value is invalid";
    EBADCLASS "AEE_EBADCLASS" off 0x00A both prim "class object is null";
    EBADMETRIC "AEE_EBADMETRIC" off 0x00B both prim "metric is invalid";
    EEXPIRED "AEE_EEXPIRED" off 0x00C both prim "component has expired";
    EBADSTATE "AEE_EBADSTATE" off 0x00D both prim "process or thread is in an unexpected state";
    EBADPARM "AEE_EBADPARM" off 0x00E both prim "a parameter is invalid";
    ESCHEMENOTSUPPORTED "AEE_ESCHEMENOTSUPPORTED" off 0x00F both prim "URI scheme is not supported";
    EBADITEM "AEE_EBADITEM" off 0x010 both prim "value is out of range";
    EINVALIDFORMAT "AEE_EINVALIDFORMAT" off 0x011 both prim "data format is invalid";
    EINCOMPLETEITEM "AEE_EINCOMPLETEITEM" off 0x012 both prim "item is shorter than expected";
    ENOPERSISTMEMORY "AEE_ENOPERSISTMEMORY" off 0x013 both prim "not enough persistent (flash) storage";
    EUNSUPPORTED "AEE_EUNSUPPORTED" off 0x014 both prim "API not implemented";
    EPRIVLEVEL "AEE_EPRIVLEVEL" off 0x015 both prim "caller lacks the privilege for this operation";
    ERESOURCENOTFOUND "AEE_ERESOURCENOTFOUND" off 0x016 both prim "requested resource was not found";
    EREENTERED "AEE_EREENTERED" off 0x017 both prim "non-reentrant API was re-entered";
    EBADTASK "AEE_EBADTASK" off 0x018 both prim "API called from the wrong task context";
    EALLOCATED "AEE_EALLOCATED" off 0x019 both prim "module left memory allocated when it was released";
    EALREADY "AEE_EALREADY" off 0x01A both prim "operation is already in progress";
    EADSAUTHBAD "AEE_EADSAUTHBAD" off 0x01B both prim "ADS mutual authentication failed";
    ENEEDSERVICEPROG "AEE_ENEEDSERVICEPROG" off 0x01C both prim "service programming is required";
    EMEMPTR "AEE_EMEMPTR" off 0x01D both prim "memory pointer was expected to be null";
    EHEAP "AEE_EHEAP" off 0x01E both prim "internal heap corruption detected";
    EIDLE "AEE_EIDLE" off 0x01F both prim "context is idle";
    EITEMBUSY "AEE_EITEMBUSY" off 0x020 both prim "context is busy";
    EBADSID "AEE_EBADSID" off 0x021 both prim "subscriber id is invalid";
    ENOTYPE "AEE_ENOTYPE" off 0x022 both prim "no type could be determined";
    ENEEDMORE "AEE_ENEEDMORE" off 0x023 both prim "more data or information is needed";
    EADSCAPS "AEE_EADSCAPS" off 0x024 both prim "ADS capabilities do not match the requirement";
    EBADSHUTDOWN "AEE_EBADSHUTDOWN" off 0x025 both prim "component did not shut down cleanly";
    EBUFFERTOOSMALL "AEE_EBUFFERTOOSMALL" off 0x026 both prim "destination buffer is too small";
    EACKPENDING "AEE_EACKPENDING" off 0x028 both prim "an acknowledgement is still pending";
    ENOTOWNER "AEE_ENOTOWNER" off 0x029 both prim "caller is not the owner";
    EINVALIDITEM "AEE_EINVALIDITEM" off 0x02A both prim "current item (switch value or pointer) is invalid";
    ENOTALLOWED "AEE_ENOTALLOWED" off 0x02B both prim "operation is not allowed";
    EBADHANDLE "AEE_EBADHANDLE" off 0x02C both prim "handle is invalid";
    EINVHANDLE "AEE_EINVHANDLE" off 0x02C both alias "handle is invalid (alias of AEE_EBADHANDLE)";
    EOUTOFHANDLES "AEE_EOUTOFHANDLES" off 0x02D both prim "handle table is full";
    ENOMORE "AEE_ENOMORE" off 0x02F both prim "no more items; end reached";
    ECPUEXCEPTION "AEE_ECPUEXCEPTION" off 0x030 both prim "a CPU exception occurred";
    EREADONLY "AEE_EREADONLY" off 0x031 both prim "object or parameter is read-only";
    EINVALIDMSG "AEE_EINVALIDMSG" off 0x032 both prim "invalid message from the application processor";
    EINVALIDTHREAD "AEE_EINVALIDTHREAD" off 0x033 both prim "thread is invalid";
    EINVALIDPROCESS "AEE_EINVALIDPROCESS" off 0x034 both prim "process is invalid";
    EINVALIDFILENAME "AEE_EINVALIDFILENAME" off 0x035 both prim "file name is invalid";
    EINVALIDDIGESTSIZE "AEE_EINVALIDDIGESTSIZE" off 0x036 both prim "signature digest size is invalid";
    EINVALIDSEGS "AEE_EINVALIDSEGS" off 0x037 both prim "image segments are invalid";
    EINVALIDSIGNATURE "AEE_EINVALIDSIGNATURE" off 0x038 both prim "signature is invalid";
    EINVALIDDOMAIN "AEE_EINVALIDDOMAIN" off 0x039 both prim "DSP domain is invalid";
    EINVALIDFD "AEE_EINVALIDFD" off 0x03A both prim "file descriptor is invalid";
    EINVALIDDEVICE "AEE_EINVALIDDEVICE" off 0x03B both prim "device is invalid or its node could not be opened";
    EINVALIDMODE "AEE_EINVALIDMODE" off 0x03C both prim "mode is invalid";
    EINVALIDPROCNAME "AEE_EINVALIDPROCNAME" off 0x03D both prim "process name is invalid";
    ENOSUCHMOD "AEE_ENOSUCHMOD" off 0x03E both prim "module not found";
    ENOSUCHINSTANCE "AEE_ENOSUCHINSTANCE" off 0x03F both prim "instance not found in the lookup list";
    ENOSUCHTHREAD "AEE_ENOSUCHTHREAD" off 0x040 both prim "thread not found";
    ENOSUCHPROCESS "AEE_ENOSUCHPROCESS" off 0x041 both prim "process not found";
    ENOSUCHSYMBOL "AEE_ENOSUCHSYMBOL" off 0x042 both prim "symbol not found (symbol lookup failed)";
    ENOSUCHDEVICE "AEE_ENOSUCHDEVICE" off 0x043 both prim "device not found";
    ENOSUCHPROP "AEE_ENOSUCHPROP" off 0x044 both prim "DAL property not found";
    ENOSUCHFILE "AEE_ENOSUCHFILE" off 0x045 both prim "file not found";
    ENOSUCHHANDLE "AEE_ENOSUCHHANDLE" off 0x046 both prim "handle not found";
    ENOSUCHSTREAM "AEE_ENOSUCHSTREAM" off 0x047 both prim "stream not found";
    ENOSUCHMAP "AEE_ENOSUCHMAP" off 0x048 both prim "no DSP mapping exists at this address";
    ENOSUCHREGISTER "AEE_ENOSUCHREGISTER" off 0x049 both prim "register not found";
    ENOSUCHCLIENT "AEE_ENOSUCHCLIENT" off 0x04A both prim "QDI client not found";
    EBADDOMAIN "AEE_EBADDOMAIN" off 0x04B both prim "domain is not initialized";
    EBADOFFSET "AEE_EBADOFFSET" off 0x04C both prim "buffer, page or heap offset is bad";
    EBADSIZE "AEE_EBADSIZE" off 0x04D both prim "buffer, page or heap size is bad";
    EBADPERMS "AEE_EBADPERMS" off 0x04E both prim "file, mapping or memory permissions are bad";
    EBADFD "AEE_EBADFD" off 0x04F both prim "file descriptor is bad";
    EBADPID "AEE_EBADPID" off 0x050 both prim "process id received from the host OS is bad";
    EBADTID "AEE_EBADTID" off 0x051 both prim "thread id is bad";
    EBADELF "AEE_EBADELF" off 0x052 both prim "ELF file is malformed";
    EBADASID "AEE_EBADASID" off 0x053 both prim "address-space id is bad";
    EBADCONTEXT "AEE_EBADCONTEXT" off 0x054 both prim "context is bad";
    EBADMEMALIGN "AEE_EBADMEMALIGN" off 0x055 both prim "memory alignment is bad";
    EIOCTL "AEE_EIOCTL" off 0x056 both prim "an ioctl call failed";
    EFOPEN "AEE_EFOPEN" off 0x057 both prim "file or DSP device node could not be opened";
    EFGETS "AEE_EFGETS" off 0x058 both prim "reading a line from a file failed";
    EFFLUSH "AEE_EFFLUSH" off 0x059 both prim "flushing a file failed";
    EFCLOSE "AEE_EFCLOSE" off 0x05A both prim "closing a file failed";
    EEOF "AEE_EEOF" off 0x05B both prim "end of file reached";
    EFREAD "AEE_EFREAD" off 0x05C both prim "file read failed";
    EFWRITE "AEE_EFWRITE" off 0x05D both prim "file write failed";
    EFGETPOS "AEE_EFGETPOS" off 0x05E both prim "getting the file position failed";
    EFSETPOS "AEE_EFSETPOS" off 0x05F both prim "setting the file position failed";
    EFTELL "AEE_EFTELL" off 0x060 both prim "querying the file position failed";
    EFSEEK "AEE_EFSEEK" off 0x061 both prim "file seek failed";
    EFLEN "AEE_EFLEN" off 0x062 both prim "file is longer than expected";
    EGETENV "AEE_EGETENV" off 0x063 both prim "reading an environment variable failed";
    ESETENV "AEE_ESETENV" off 0x064 both prim "setting an environment variable failed";
    EMMAP "AEE_EMMAP" off 0x065 both prim "mmap failed";
    EIONMAP "AEE_EIONMAP" off 0x066 both prim "mapping an ION buffer failed";
    EIONALLOC "AEE_EIONALLOC" off 0x067 both prim "allocating an ION buffer failed";
    ENORPCMEMORY "AEE_ENORPCMEMORY" off 0x068 both prim "allocating shared RPC memory failed";
    ENOROOTOFTRUST "AEE_ENOROOTOFTRUST" off 0x069 both prim "no root of trust for signature verification";
    ENOTLOCKED "AEE_ENOTLOCKED" off 0x06A both prim "unlock requested on something not locked";
    ENOTINITIALIZED "AEE_ENOTINITIALIZED" off 0x06B both prim "not initialized";
    EUNSUPPORTEDAPI "AEE_EUNSUPPORTEDAPI" off 0x06C both prim "API or request id is not supported";
    EUNPACK "AEE_EUNPACK" off 0x06D both prim "unpacking a command failed";
    EPOLL "AEE_EPOLL" off 0x06E both prim "polling for an event failed";
    EEVENTREAD "AEE_EEVENTREAD" off 0x06F both prim "reading an event failed";
    EMAXBUFS "AEE_EMAXBUFS" off 0x070 both prim "too many buffers";
    EINVARGS "AEE_EINVARGS" off 0x071 both prim "arguments are invalid";
    ECONNREFUSED "AEE_ECONNREFUSED" off 0x072 both prim "connection to the DSP was refused";
    EUNSIGNEDMOD "AEE_EUNSIGNEDMOD" off 0x081 both prim "shared object is unsigned (no test signature found)";
    EINVALIDHASH "AEE_EINVALIDHASH" off 0x082 both prim "hash object is invalid (no test signature found)";
    EBADVA "AEE_EBADVA" off 0x083 both prim "virtual address is bad";
    ENOSUCHJOB "AEE_ENOSUCHJOB" off 0x084 both prim "job not found";
    ENOSUCHGROUP "AEE_ENOSUCHGROUP" off 0x084 both alias "static PD group not found (alias of AEE_ENOSUCHJOB)";
    EBADMAPREFCNT "AEE_EBADMAPREFCNT" off 0x085 both prim "mapping reference count is wrong";
    EBADPAGECNT "AEE_EBADPAGECNT" off 0x086 both prim "page count is wrong";
    EMAPALREADYPRESENT "AEE_EMAPALREADYPRESENT" off 0x087 both prim "mapping is already present";
    ENOFREESECTION "AEE_ENOFREESECTION" off 0x088 both prim "no free section is left";
    U2GCLIENT_OPEN "AEE_U2GCLIENT_OPEN" off 0x089 both prim "opening the user-to-guest (u2g) client failed";
    ENOSESSION "AEE_ENOSESSION" off 0x08A both prim "no session is available (newer header versions only)";

    EGLINK_OFFSET "AEE_EGLINK_OFFSET" off 0x100 dsp prim "first code of the GLINK/SMD transport group";
    EGLINKBADPACKET "AEE_EGLINKBADPACKET" off 0x101 dsp prim "GLINK packet size is invalid";
    EGLINKALREADYOPEN "AEE_EGLINKALREADYOPEN" off 0x102 dsp prim "GLINK port is already open";
    EGLINKOPENFAILED "AEE_EGLINKOPENFAILED" off 0x103 dsp prim "opening a GLINK port failed";
    EGLINKWRITE "AEE_EGLINKWRITE" off 0x104 dsp prim "writing to a GLINK port failed";
    EGLINKREGISTER "AEE_EGLINKREGISTER" off 0x105 dsp prim "registering a GLINK port callback failed";
    ESMD_OFFSET "AEE_ESMD_OFFSET" off 0x100 cpu prim "first code of the SMD transport group";
    ESMDBADPACKET "AEE_ESMDBADPACKET" off 0x101 cpu prim "SMD packet size is invalid";
    ESMDALREADYOPEN "AEE_ESMDALREADYOPEN" off 0x102 cpu prim "SMD port is already open";
    ESMDOPENFAILED "AEE_ESMDOPENFAILED" off 0x103 cpu prim "opening an SMD port failed";

    EDAL_OFFSET "AEE_EDAL_OFFSET" off 0x120 both prim "first code of the DAL group";
    EDALDEVATTACH "AEE_EDALDEVATTACH" off 0x121 both prim "attaching to a DAL device failed";
    EDALINTREGISTER "AEE_EDALINTREGISTER" off 0x122 both prim "registering a DAL interrupt failed";
    EDALINTUNREGISTER "AEE_EDALINTUNREGISTER" off 0x123 both prim "unregistering a DAL interrupt failed";
    EDALGETPROP "AEE_EDALGETPROP" off 0x124 both prim "getting a DAL property failed";
    EDALGETVAL "AEE_EDALGETVAL" off 0x125 both prim "getting a DAL property value failed";
    EDCVSREQUEST "AEE_EDCVSREQUEST" off 0x126 both prim "a DCVS request failed";

    EQURT_OFFSET "AEE_EQURT_OFFSET" off 0x140 both prim "first code of the QuRT kernel group";
    EQURTREGIONCREATE "AEE_EQURTREGIONCREATE" off 0x141 both prim "QuRT memory region creation failed";
    EQURTCACHECLEAN "AEE_EQURTCACHECLEAN" off 0x142 both prim "QuRT cache clean failed";
    EQURTREGIONGETATTR "AEE_EQURTREGIONGETATTR" off 0x143 both prim "QuRT region attribute query failed";
    EQURTBADREGIONPERMS "AEE_EQURTBADREGIONPERMS" off 0x144 both prim "QuRT region permissions are bad";
    EQURTMEMPOOLADD "AEE_EQURTMEMPOOLADD" off 0x145 both prim "adding to a QuRT memory pool failed";
    EQURTREGISTERDEV "AEE_EQURTREGISTERDEV" off 0x146 both prim "QuRT device registration failed";
    EQURTMEMPOOLCREATE "AEE_EQURTMEMPOOLCREATE" off 0x147 both prim "QuRT memory pool creation failed";
    EQURTGETVA "AEE_EQURTGETVA" off 0x148 both prim "QuRT get-virtual-address call failed";
    EQURTREGIONDELETE "AEE_EQURTREGIONDELETE" off 0x149 both prim "QuRT region deletion failed";
    EQURTMEMPOOLATTACH "AEE_EQURTMEMPOOLATTACH" off 0x14A both prim "attaching to a QuRT memory pool failed";
    EQURTTHREADCREATE "AEE_EQURTTHREADCREATE" off 0x14B both prim "QuRT thread creation failed";
    EQURTCOPYTOUSER "AEE_EQURTCOPYTOUSER" off 0x14C both prim "QuRT copy to user memory failed";
    EQURTMEMMAPCREATE "AEE_EQURTMEMMAPCREATE" off 0x14D both prim "QuRT memory mapping creation failed";
    EQURTINVHANDLE "AEE_EQURTINVHANDLE" off 0x14E both prim "QuRT client handle is invalid";
    EQURTBADASID "AEE_EQURTBADASID" off 0x14F both prim "QuRT reported a bad address-space id";
    EQURTOPENFAILED "AEE_EQURTOPENFAILED" off 0x150 both prim "opening a QuRT QDI driver failed";
    EQURTCOPYFROMUSER "AEE_EQURTCOPYFROMUSER" off 0x151 both prim "QuRT copy from user memory failed";
    EQURTLINELOCK "AEE_EQURTLINELOCK" off 0x152 both prim "QuRT cache line lock failed";
    EQURTQDIDEFMETHOD "AEE_EQURTQDIDEFMETHOD" off 0x153 both prim "QuRT QDI default method failed";
    EQURTCREATEHANDLE "AEE_EQURTCREATEHANDLE" off 0x154 both prim "creating a QuRT handle from an object failed";
    EQURTWRITABLEMEM "AEE_EQURTWRITABLEMEM" off 0x155 both prim "QuRT content-protection migration hit writable memory";
    EQURTTHREADCREATEDEF "AEE_EQURTTHREADCREATEDEF" off 0x156 both prim "QuRT default thread creation failed";
    EQURTLOOKUPVA "AEE_EQURTLOOKUPVA" off 0x157 both prim "QuRT virtual address lookup failed";
    EQURTLOOKUPPA "AEE_EQURTLOOKUPPA" off 0x158 both prim "QuRT physical address lookup failed";
    EQURTMIGRATESECURE "AEE_EQURTMIGRATESECURE" off 0x159 both prim "QuRT content-protection migration failed";
    EQURTQDIOPEN "AEE_EQURTQDIOPEN" off 0x160 both prim "QuRT QDI open failure";
    EQURTMAPREMOVE "AEE_EQURTMAPREMOVE" off 0x161 both prim "QuRT mapping removal failed";
    EQURTQDICLOSE "AEE_EQURTQDICLOSE" off 0x162 both prim "QuRT QDI close failed";
    EQURTWAIT "AEE_EQURTWAIT" off 0x163 both prim "QuRT futex wait failed";

    EMMPM_OFFSET "AEE_EMMPM_OFFSET" off 0x170 both prim "first code of the MMPM power-manager group";
    EMMPMREQUEST "AEE_EMMPMREQUEST" off 0x171 both prim "MMPM power request failed";
    EMMPMRELEASE "AEE_EMMPMRELEASE" off 0x172 both prim "MMPM release request failed";
    EMMPMSETPARAM "AEE_EMMPMSETPARAM" off 0x173 both prim "MMPM set-parameter request failed";
    EMMPMREGISTER "AEE_EMMPMREGISTER" off 0x174 both prim "MMPM registration failed";
    EMMPMGETINFO "AEE_EMMPMGETINFO" off 0x175 both prim "MMPM info query failed";
    EMAX_MMPM_CLIENTS "AEE_EMAX_MMPM_CLIENTS" off 0x176 both prim "per-PD limit of MMPM clients reached";
    EDCVSREGISTER "AEE_EDCVSREGISTER" off 0x177 both prim "DCVS client registration failed";
    PDRREGFAIL "AEE_PDRREGFAIL" off 0x178 both prim "registering PD-restart error callbacks failed";

    DEFAULT_PROCESS "AEE_DEFAULT_PROCESS" off 0x180 both prim "the guest OS default process is not present";
    ENULLCONTEXT "AEE_ENULLCONTEXT" off 0x181 both prim "user voted with a null context";
    EINVALIDJOB "AEE_EINVALIDJOB" off 0x182 both prim "asynchronous RPC job is invalid";
    EBUSY "AEE_EBUSY" off 0x183 both prim "asynchronous RPC job is still pending";

    E_APPS_BUSY_RETRY_LATER "E_APPS_BUSY_RETRY_LATER" off 0x190 both prim "application processor is busy; retry later";
    E_HLOS_CAP_REACHED "E_HLOS_CAP_REACHED" off 0x191 both prim "host-OS memory cap reached; no more can be taken";
    E_DPOOL_CAP_REACHED "E_DPOOL_CAP_REACHED" off 0x192 both prim "physical pool cap reached; no more can be taken";
    E_NO_MORE_FREE_SECTIONS "E_NO_MORE_FREE_SECTIONS" off 0x193 both prim "no free section left to grow the heap";
    ESTUBSKELVERMISMATCH "AEE_ESTUBSKELVERMISMATCH" off 0x194 both prim "stub interface version is newer than the skel's (newer header versions only)";

    ERPC "AEE_ERPC" off 0x200 both prim "error inside the FastRPC framework";
    EFILE "AEE_EFILE" off 0x201 both prim "file-handling error";
}

/// Names of common Linux errno values (x86_64/arm64 numbering), used only to
/// decorate the [`Display`](fmt::Display) text of negative-errno values.
const ERRNO_NAMES: &[(u32, &str)] = &[
    (1, "EPERM"),
    (2, "ENOENT"),
    (3, "ESRCH"),
    (4, "EINTR"),
    (5, "EIO"),
    (6, "ENXIO"),
    (7, "E2BIG"),
    (8, "ENOEXEC"),
    (9, "EBADF"),
    (10, "ECHILD"),
    (11, "EAGAIN"),
    (12, "ENOMEM"),
    (13, "EACCES"),
    (14, "EFAULT"),
    (16, "EBUSY"),
    (17, "EEXIST"),
    (19, "ENODEV"),
    (22, "EINVAL"),
    (23, "ENFILE"),
    (24, "EMFILE"),
    (25, "ENOTTY"),
    (27, "EFBIG"),
    (28, "ENOSPC"),
    (29, "ESPIPE"),
    (32, "EPIPE"),
    (34, "ERANGE"),
    (35, "EDEADLK"),
    (38, "ENOSYS"),
    (44, "ECHRNG"),
    (61, "ENODATA"),
    (62, "ETIME"),
    (75, "EOVERFLOW"),
    (77, "EBADFD"),
    (95, "EOPNOTSUPP"),
    (104, "ECONNRESET"),
    (105, "ENOBUFS"),
    (110, "ETIMEDOUT"),
    (111, "ECONNREFUSED"),
    (114, "EALREADY"),
    (125, "ECANCELED"),
    (512, "ERESTARTSYS"),
    (524, "ENOTSUPP"),
];

/// Largest errno magnitude Linux returns (`MAX_ERRNO`).
pub const MAX_ERRNO: u32 = 4095;

impl AeeCode {
    /// Wrap a status held in a C `int`.
    #[must_use]
    pub const fn from_i32(v: i32) -> Self {
        Self(v as u32)
    }

    /// The status as a C `int` (same bits).
    #[must_use]
    pub const fn as_i32(self) -> i32 {
        self.0 as i32
    }

    /// The DSP form of an offset code: `0x8000_0400 + base` (wrapping).
    #[must_use]
    pub const fn dsp(base: u32) -> Self {
        Self(AEE_EOFFSET_DSP.wrapping_add(base))
    }

    /// The DSP form of `self`, taken as a CPU-side (base) code. Fixed codes
    /// (see [`AeeEncoding::Fixed`]) should not be converted.
    #[must_use]
    pub const fn to_dsp(self) -> Self {
        Self::dsp(self.0)
    }

    /// `true` for 0.
    #[must_use]
    pub const fn is_success(self) -> bool {
        self.0 == 0
    }

    /// Whether the value carries the DSP offset, i.e. lies in
    /// `0x8000_0400 ..= 0x8000_FFFF` (base `0 ..= 0xFBFF`).
    #[must_use]
    pub const fn is_dsp(self) -> bool {
        self.0 >= AEE_EOFFSET_DSP && self.0 <= 0x8000_FFFF
    }

    /// The code with the DSP offset stripped (unchanged if [`is_dsp`](Self::is_dsp)
    /// is false).
    #[must_use]
    pub const fn base(self) -> u32 {
        if self.is_dsp() {
            self.0 - AEE_EOFFSET_DSP
        } else {
            self.0
        }
    }

    /// If the value, read as `i32`, is a negative Linux errno other than −1
    /// (`-4095 ..= -2`), the positive errno.
    #[must_use]
    pub const fn errno(self) -> Option<u32> {
        let v = self.as_i32();
        if v <= -2 && v >= -(MAX_ERRNO as i32) {
            Some(v.unsigned_abs())
        } else {
            None
        }
    }

    /// The primary table entry for this value, if any (see the
    /// [module docs](self) for aliases and the CPU-side 104 collision).
    #[must_use]
    pub fn info(self) -> Option<&'static AeeInfo> {
        let primaries = AEE_TABLE.iter().filter(|e| !e.alias);
        // Fixed codes are the same on both sides and win over offset codes.
        if let Some(e) = primaries
            .clone()
            .find(|e| e.encoding == AeeEncoding::Fixed && e.value == self.0)
        {
            return Some(e);
        }
        self.offset_info(primaries)
    }

    fn offset_info<'a, I>(self, mut entries: I) -> Option<&'static AeeInfo>
    where
        I: Iterator<Item = &'static AeeInfo> + 'a,
    {
        let (base, side) = if self.is_dsp() {
            (self.base(), AeeSide::Dsp)
        } else if self.0 < 0x400 {
            (self.0, AeeSide::Cpu)
        } else {
            return None;
        };
        entries.find(|e| {
            e.encoding == AeeEncoding::Offset && e.value == base && (e.side == AeeSide::Both || e.side == side)
        })
    }

    /// The second meaning of a CPU-side value that is both a fixed code and an
    /// offset code (only 104: `AEE_ECONNRESET` / `AEE_ENORPCMEMORY`).
    #[must_use]
    pub fn cpu_collision(self) -> Option<&'static AeeInfo> {
        match self.info() {
            Some(e) if e.encoding == AeeEncoding::Fixed && self.0 < 0x400 => {
                self.offset_info(AEE_TABLE.iter().filter(|e| !e.alias))
            }
            _ => None,
        }
    }

    /// The primary C name of this value, e.g. `Some("AEE_EUNSUPPORTED")` for both
    /// 0x14 and 0x8000_0414.
    #[must_use]
    pub fn name(self) -> Option<&'static str> {
        self.info().map(|e| e.name)
    }

    /// Every name (primary first, then aliases) defined for this value on the side
    /// it came from.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        let primary = self.info();
        AEE_TABLE
            .iter()
            .filter(move |e| {
                primary.is_some_and(|p| {
                    e.value == p.value
                        && e.encoding == p.encoding
                        && (e.side == p.side || e.side == AeeSide::Both || p.side == AeeSide::Both)
                })
            })
            .map(|e| e.name)
    }
}

impl From<u32> for AeeCode {
    fn from(v: u32) -> Self {
        Self(v)
    }
}

impl From<i32> for AeeCode {
    fn from(v: i32) -> Self {
        Self::from_i32(v)
    }
}

impl From<AeeCode> for u32 {
    fn from(c: AeeCode) -> Self {
        c.0
    }
}

impl fmt::Display for AeeCode {
    /// Human-readable text for any value:
    ///
    /// - known: `AEE_EUNSUPPORTED (0x80000414, DSP): API not implemented`
    ///   (side is `DSP`, `CPU`, or `no offset` for fixed codes);
    /// - negative errno: `kernel errno -22 (EINVAL)`;
    /// - unknown DSP: `unknown AEE code 0x80000999 (DSP offset 0x80000400 + 0x599)`;
    /// - unknown CPU: `unknown AEE code 0x00000399 (CPU, no offset)`;
    /// - anything else: `unknown AEE code 0x12345678`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let code = self.0;
        if let Some(e) = self.info() {
            let side = match e.encoding {
                AeeEncoding::Fixed => "no offset",
                AeeEncoding::Offset if self.is_dsp() => "DSP",
                AeeEncoding::Offset => "CPU",
            };
            write!(f, "{} ({code:#010x}, {side}): {}", e.name, e.description)?;
            if let Some(alt) = self.cpu_collision() {
                write!(f, "; as a CPU-side offset code also {}: {}", alt.name, alt.description)?;
            }
            return Ok(());
        }
        if let Some(errno) = self.errno() {
            write!(f, "kernel errno -{errno}")?;
            if let Some((_, n)) = ERRNO_NAMES.iter().find(|(v, _)| *v == errno) {
                write!(f, " ({n})")?;
            }
            return Ok(());
        }
        if self.is_dsp() {
            write!(
                f,
                "unknown AEE code {code:#010x} (DSP offset {AEE_EOFFSET_DSP:#010x} + {:#x})",
                self.base()
            )
        } else if code < 0x400 {
            write!(f, "unknown AEE code {code:#010x} (CPU, no offset)")
        } else {
            write!(f, "unknown AEE code {code:#010x}")
        }
    }
}

/// Describe a status held in a C `int` (e.g. an ioctl or `remote_handle_invoke`
/// return value); see [`AeeCode`]'s `Display`.
#[must_use]
pub fn describe(code: i32) -> impl fmt::Display {
    AeeCode::from_i32(code)
}

#[cfg(test)]
mod tests;
