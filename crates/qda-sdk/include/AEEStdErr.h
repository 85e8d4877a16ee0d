/* AEEStdErr.h: the status codes FastRPC calls return (qda SDK).
 *
 * Facts: qualcomm/fastrpc inc/AEEStdErr.h @ 29851fde11d4 (names and values).
 * The one-line descriptions are qda's; they are the same as the table in
 * crates/qda-uapi/src/aee, and crates/qda-sdk/tests/abi.rs keeps the two equal.
 *
 * Most codes are AEE_EOFFSET plus a base. A code made on the CPU has offset 0;
 * a code made on the DSP (a Hexagon build, __hexagon__) has offset
 * DSP_AEE_EOFFSET, so a DSP failure reaches the application as
 * 0x80000400 + base. A few codes are the same number on both sides.
 *
 * A skel built on the host for qda's virtual DSP is DSP code: it defines
 * QDA_SKEL (pkg-config's qda-skel does), so the codes it returns arrive as
 * a Hexagon skel's would.
 */
#ifndef AEESTDERR_H
#define AEESTDERR_H

/* Offset of DSP-made codes. */
#define DSP_AEE_EOFFSET 0x80000400

#if defined(__hexagon__) || defined(QDA_SKEL)
#define AEE_EOFFSET DSP_AEE_EOFFSET
#else
#define AEE_EOFFSET 0x00000000
#endif

/* Bounds of the range where a kernel errno is passed through as a status. */
#define KERNEL_ERRNO_START -1024
#define HLOS_ERR_END 1024

#define AEE_SUCCESS                0                        /* no error */
#define AEE_EUNKNOWN               (-1)                     /* unspecified failure (catch-all, discouraged) */
#define AEE_ENOSUCH                (39)                     /* no such name, port or socket */
#define AEE_EINTERRUPTED           (46)                     /* waiting call was interrupted; return to the host OS and retry */
#define AEE_ECONNRESET             (104)                    /* connection reset by the peer */
#define AEE_EWOULDBLOCK            (516)                    /* operation would block; wait and try again */
#define AEE_EFAILED                (AEE_EOFFSET + 0x001)    /* generic failure */
#define AEE_ENOMEMORY              (AEE_EOFFSET + 0x002)    /* out of memory */
#define AEE_ECLASSNOTSUPPORT       (AEE_EOFFSET + 0x003)    /* requested class is not supported */
#define AEE_EVERSIONNOTSUPPORT     (AEE_EOFFSET + 0x004)    /* requested version is not supported */
#define AEE_EALREADYLOADED         (AEE_EOFFSET + 0x005)    /* object is already loaded */
#define AEE_EUNABLETOLOAD          (AEE_EOFFSET + 0x006)    /* object or module could not be loaded */
#define AEE_EUNABLETOUNLOAD        (AEE_EOFFSET + 0x007)    /* object or module could not be unloaded */
#define AEE_EALARMPENDING          (AEE_EOFFSET + 0x008)    /* an alarm is still pending */
#define AEE_EINVALIDTIME           (AEE_EOFFSET + 0x009)    /* time value is invalid */
#define AEE_EBADCLASS              (AEE_EOFFSET + 0x00A)    /* class object is null */
#define AEE_EBADMETRIC             (AEE_EOFFSET + 0x00B)    /* metric is invalid */
#define AEE_EEXPIRED               (AEE_EOFFSET + 0x00C)    /* component has expired */
#define AEE_EBADSTATE              (AEE_EOFFSET + 0x00D)    /* process or thread is in an unexpected state */
#define AEE_EBADPARM               (AEE_EOFFSET + 0x00E)    /* a parameter is invalid */
#define AEE_ESCHEMENOTSUPPORTED    (AEE_EOFFSET + 0x00F)    /* URI scheme is not supported */
#define AEE_EBADITEM               (AEE_EOFFSET + 0x010)    /* value is out of range */
#define AEE_EINVALIDFORMAT         (AEE_EOFFSET + 0x011)    /* data format is invalid */
#define AEE_EINCOMPLETEITEM        (AEE_EOFFSET + 0x012)    /* item is shorter than expected */
#define AEE_ENOPERSISTMEMORY       (AEE_EOFFSET + 0x013)    /* not enough persistent (flash) storage */
#define AEE_EUNSUPPORTED           (AEE_EOFFSET + 0x014)    /* API not implemented */
#define AEE_EPRIVLEVEL             (AEE_EOFFSET + 0x015)    /* caller lacks the privilege for this operation */
#define AEE_ERESOURCENOTFOUND      (AEE_EOFFSET + 0x016)    /* requested resource was not found */
#define AEE_EREENTERED             (AEE_EOFFSET + 0x017)    /* non-reentrant API was re-entered */
#define AEE_EBADTASK               (AEE_EOFFSET + 0x018)    /* API called from the wrong task context */
#define AEE_EALLOCATED             (AEE_EOFFSET + 0x019)    /* module left memory allocated when it was released */
#define AEE_EALREADY               (AEE_EOFFSET + 0x01A)    /* operation is already in progress */
#define AEE_EADSAUTHBAD            (AEE_EOFFSET + 0x01B)    /* ADS mutual authentication failed */
#define AEE_ENEEDSERVICEPROG       (AEE_EOFFSET + 0x01C)    /* service programming is required */
#define AEE_EMEMPTR                (AEE_EOFFSET + 0x01D)    /* memory pointer was expected to be null */
#define AEE_EHEAP                  (AEE_EOFFSET + 0x01E)    /* internal heap corruption detected */
#define AEE_EIDLE                  (AEE_EOFFSET + 0x01F)    /* context is idle */
#define AEE_EITEMBUSY              (AEE_EOFFSET + 0x020)    /* context is busy */
#define AEE_EBADSID                (AEE_EOFFSET + 0x021)    /* subscriber id is invalid */
#define AEE_ENOTYPE                (AEE_EOFFSET + 0x022)    /* no type could be determined */
#define AEE_ENEEDMORE              (AEE_EOFFSET + 0x023)    /* more data or information is needed */
#define AEE_EADSCAPS               (AEE_EOFFSET + 0x024)    /* ADS capabilities do not match the requirement */
#define AEE_EBADSHUTDOWN           (AEE_EOFFSET + 0x025)    /* component did not shut down cleanly */
#define AEE_EBUFFERTOOSMALL        (AEE_EOFFSET + 0x026)    /* destination buffer is too small */
#define AEE_EACKPENDING            (AEE_EOFFSET + 0x028)    /* an acknowledgement is still pending */
#define AEE_ENOTOWNER              (AEE_EOFFSET + 0x029)    /* caller is not the owner */
#define AEE_EINVALIDITEM           (AEE_EOFFSET + 0x02A)    /* current item (switch value or pointer) is invalid */
#define AEE_ENOTALLOWED            (AEE_EOFFSET + 0x02B)    /* operation is not allowed */
#define AEE_EBADHANDLE             (AEE_EOFFSET + 0x02C)    /* handle is invalid */
#define AEE_EINVHANDLE             (AEE_EOFFSET + 0x02C)    /* handle is invalid (alias of AEE_EBADHANDLE) */
#define AEE_EOUTOFHANDLES          (AEE_EOFFSET + 0x02D)    /* handle table is full */
#define AEE_ENOMORE                (AEE_EOFFSET + 0x02F)    /* no more items; end reached */
#define AEE_ECPUEXCEPTION          (AEE_EOFFSET + 0x030)    /* a CPU exception occurred */
#define AEE_EREADONLY              (AEE_EOFFSET + 0x031)    /* object or parameter is read-only */
#define AEE_EINVALIDMSG            (AEE_EOFFSET + 0x032)    /* invalid message from the application processor */
#define AEE_EINVALIDTHREAD         (AEE_EOFFSET + 0x033)    /* thread is invalid */
#define AEE_EINVALIDPROCESS        (AEE_EOFFSET + 0x034)    /* process is invalid */
#define AEE_EINVALIDFILENAME       (AEE_EOFFSET + 0x035)    /* file name is invalid */
#define AEE_EINVALIDDIGESTSIZE     (AEE_EOFFSET + 0x036)    /* signature digest size is invalid */
#define AEE_EINVALIDSEGS           (AEE_EOFFSET + 0x037)    /* image segments are invalid */
#define AEE_EINVALIDSIGNATURE      (AEE_EOFFSET + 0x038)    /* signature is invalid */
#define AEE_EINVALIDDOMAIN         (AEE_EOFFSET + 0x039)    /* DSP domain is invalid */
#define AEE_EINVALIDFD             (AEE_EOFFSET + 0x03A)    /* file descriptor is invalid */
#define AEE_EINVALIDDEVICE         (AEE_EOFFSET + 0x03B)    /* device is invalid or its node could not be opened */
#define AEE_EINVALIDMODE           (AEE_EOFFSET + 0x03C)    /* mode is invalid */
#define AEE_EINVALIDPROCNAME       (AEE_EOFFSET + 0x03D)    /* process name is invalid */
#define AEE_ENOSUCHMOD             (AEE_EOFFSET + 0x03E)    /* module not found */
#define AEE_ENOSUCHINSTANCE        (AEE_EOFFSET + 0x03F)    /* instance not found in the lookup list */
#define AEE_ENOSUCHTHREAD          (AEE_EOFFSET + 0x040)    /* thread not found */
#define AEE_ENOSUCHPROCESS         (AEE_EOFFSET + 0x041)    /* process not found */
#define AEE_ENOSUCHSYMBOL          (AEE_EOFFSET + 0x042)    /* symbol not found (symbol lookup failed) */
#define AEE_ENOSUCHDEVICE          (AEE_EOFFSET + 0x043)    /* device not found */
#define AEE_ENOSUCHPROP            (AEE_EOFFSET + 0x044)    /* DAL property not found */
#define AEE_ENOSUCHFILE            (AEE_EOFFSET + 0x045)    /* file not found */
#define AEE_ENOSUCHHANDLE          (AEE_EOFFSET + 0x046)    /* handle not found */
#define AEE_ENOSUCHSTREAM          (AEE_EOFFSET + 0x047)    /* stream not found */
#define AEE_ENOSUCHMAP             (AEE_EOFFSET + 0x048)    /* no DSP mapping exists at this address */
#define AEE_ENOSUCHREGISTER        (AEE_EOFFSET + 0x049)    /* register not found */
#define AEE_ENOSUCHCLIENT          (AEE_EOFFSET + 0x04A)    /* QDI client not found */
#define AEE_EBADDOMAIN             (AEE_EOFFSET + 0x04B)    /* domain is not initialized */
#define AEE_EBADOFFSET             (AEE_EOFFSET + 0x04C)    /* buffer, page or heap offset is bad */
#define AEE_EBADSIZE               (AEE_EOFFSET + 0x04D)    /* buffer, page or heap size is bad */
#define AEE_EBADPERMS              (AEE_EOFFSET + 0x04E)    /* file, mapping or memory permissions are bad */
#define AEE_EBADFD                 (AEE_EOFFSET + 0x04F)    /* file descriptor is bad */
#define AEE_EBADPID                (AEE_EOFFSET + 0x050)    /* process id received from the host OS is bad */
#define AEE_EBADTID                (AEE_EOFFSET + 0x051)    /* thread id is bad */
#define AEE_EBADELF                (AEE_EOFFSET + 0x052)    /* ELF file is malformed */
#define AEE_EBADASID               (AEE_EOFFSET + 0x053)    /* address-space id is bad */
#define AEE_EBADCONTEXT            (AEE_EOFFSET + 0x054)    /* context is bad */
#define AEE_EBADMEMALIGN           (AEE_EOFFSET + 0x055)    /* memory alignment is bad */
#define AEE_EIOCTL                 (AEE_EOFFSET + 0x056)    /* an ioctl call failed */
#define AEE_EFOPEN                 (AEE_EOFFSET + 0x057)    /* file or DSP device node could not be opened */
#define AEE_EFGETS                 (AEE_EOFFSET + 0x058)    /* reading a line from a file failed */
#define AEE_EFFLUSH                (AEE_EOFFSET + 0x059)    /* flushing a file failed */
#define AEE_EFCLOSE                (AEE_EOFFSET + 0x05A)    /* closing a file failed */
#define AEE_EEOF                   (AEE_EOFFSET + 0x05B)    /* end of file reached */
#define AEE_EFREAD                 (AEE_EOFFSET + 0x05C)    /* file read failed */
#define AEE_EFWRITE                (AEE_EOFFSET + 0x05D)    /* file write failed */
#define AEE_EFGETPOS               (AEE_EOFFSET + 0x05E)    /* getting the file position failed */
#define AEE_EFSETPOS               (AEE_EOFFSET + 0x05F)    /* setting the file position failed */
#define AEE_EFTELL                 (AEE_EOFFSET + 0x060)    /* querying the file position failed */
#define AEE_EFSEEK                 (AEE_EOFFSET + 0x061)    /* file seek failed */
#define AEE_EFLEN                  (AEE_EOFFSET + 0x062)    /* file is longer than expected */
#define AEE_EGETENV                (AEE_EOFFSET + 0x063)    /* reading an environment variable failed */
#define AEE_ESETENV                (AEE_EOFFSET + 0x064)    /* setting an environment variable failed */
#define AEE_EMMAP                  (AEE_EOFFSET + 0x065)    /* mmap failed */
#define AEE_EIONMAP                (AEE_EOFFSET + 0x066)    /* mapping an ION buffer failed */
#define AEE_EIONALLOC              (AEE_EOFFSET + 0x067)    /* allocating an ION buffer failed */
#define AEE_ENORPCMEMORY           (AEE_EOFFSET + 0x068)    /* allocating shared RPC memory failed */
#define AEE_ENOROOTOFTRUST         (AEE_EOFFSET + 0x069)    /* no root of trust for signature verification */
#define AEE_ENOTLOCKED             (AEE_EOFFSET + 0x06A)    /* unlock requested on something not locked */
#define AEE_ENOTINITIALIZED        (AEE_EOFFSET + 0x06B)    /* not initialized */
#define AEE_EUNSUPPORTEDAPI        (AEE_EOFFSET + 0x06C)    /* API or request id is not supported */
#define AEE_EUNPACK                (AEE_EOFFSET + 0x06D)    /* unpacking a command failed */
#define AEE_EPOLL                  (AEE_EOFFSET + 0x06E)    /* polling for an event failed */
#define AEE_EEVENTREAD             (AEE_EOFFSET + 0x06F)    /* reading an event failed */
#define AEE_EMAXBUFS               (AEE_EOFFSET + 0x070)    /* too many buffers */
#define AEE_EINVARGS               (AEE_EOFFSET + 0x071)    /* arguments are invalid */
#define AEE_ECONNREFUSED           (AEE_EOFFSET + 0x072)    /* connection to the DSP was refused */
#define AEE_EUNSIGNEDMOD           (AEE_EOFFSET + 0x081)    /* shared object is unsigned (no test signature found) */
#define AEE_EINVALIDHASH           (AEE_EOFFSET + 0x082)    /* hash object is invalid (no test signature found) */
#define AEE_EBADVA                 (AEE_EOFFSET + 0x083)    /* virtual address is bad */
#define AEE_ENOSUCHJOB             (AEE_EOFFSET + 0x084)    /* job not found */
#define AEE_ENOSUCHGROUP           (AEE_EOFFSET + 0x084)    /* static PD group not found (alias of AEE_ENOSUCHJOB) */
#define AEE_EBADMAPREFCNT          (AEE_EOFFSET + 0x085)    /* mapping reference count is wrong */
#define AEE_EBADPAGECNT            (AEE_EOFFSET + 0x086)    /* page count is wrong */
#define AEE_EMAPALREADYPRESENT     (AEE_EOFFSET + 0x087)    /* mapping is already present */
#define AEE_ENOFREESECTION         (AEE_EOFFSET + 0x088)    /* no free section is left */
#define AEE_U2GCLIENT_OPEN         (AEE_EOFFSET + 0x089)    /* opening the user-to-guest (u2g) client failed */
#define AEE_ENOSESSION             (AEE_EOFFSET + 0x08A)    /* no session is available (newer header versions only) */
#define AEE_EDAL_OFFSET            (AEE_EOFFSET + 0x120)    /* first code of the DAL group */
#define AEE_EDALDEVATTACH          (AEE_EOFFSET + 0x121)    /* attaching to a DAL device failed */
#define AEE_EDALINTREGISTER        (AEE_EOFFSET + 0x122)    /* registering a DAL interrupt failed */
#define AEE_EDALINTUNREGISTER      (AEE_EOFFSET + 0x123)    /* unregistering a DAL interrupt failed */
#define AEE_EDALGETPROP            (AEE_EOFFSET + 0x124)    /* getting a DAL property failed */
#define AEE_EDALGETVAL             (AEE_EOFFSET + 0x125)    /* getting a DAL property value failed */
#define AEE_EDCVSREQUEST           (AEE_EOFFSET + 0x126)    /* a DCVS request failed */
#define AEE_EQURT_OFFSET           (AEE_EOFFSET + 0x140)    /* first code of the QuRT kernel group */
#define AEE_EQURTREGIONCREATE      (AEE_EOFFSET + 0x141)    /* QuRT memory region creation failed */
#define AEE_EQURTCACHECLEAN        (AEE_EOFFSET + 0x142)    /* QuRT cache clean failed */
#define AEE_EQURTREGIONGETATTR     (AEE_EOFFSET + 0x143)    /* QuRT region attribute query failed */
#define AEE_EQURTBADREGIONPERMS    (AEE_EOFFSET + 0x144)    /* QuRT region permissions are bad */
#define AEE_EQURTMEMPOOLADD        (AEE_EOFFSET + 0x145)    /* adding to a QuRT memory pool failed */
#define AEE_EQURTREGISTERDEV       (AEE_EOFFSET + 0x146)    /* QuRT device registration failed */
#define AEE_EQURTMEMPOOLCREATE     (AEE_EOFFSET + 0x147)    /* QuRT memory pool creation failed */
#define AEE_EQURTGETVA             (AEE_EOFFSET + 0x148)    /* QuRT get-virtual-address call failed */
#define AEE_EQURTREGIONDELETE      (AEE_EOFFSET + 0x149)    /* QuRT region deletion failed */
#define AEE_EQURTMEMPOOLATTACH     (AEE_EOFFSET + 0x14A)    /* attaching to a QuRT memory pool failed */
#define AEE_EQURTTHREADCREATE      (AEE_EOFFSET + 0x14B)    /* QuRT thread creation failed */
#define AEE_EQURTCOPYTOUSER        (AEE_EOFFSET + 0x14C)    /* QuRT copy to user memory failed */
#define AEE_EQURTMEMMAPCREATE      (AEE_EOFFSET + 0x14D)    /* QuRT memory mapping creation failed */
#define AEE_EQURTINVHANDLE         (AEE_EOFFSET + 0x14E)    /* QuRT client handle is invalid */
#define AEE_EQURTBADASID           (AEE_EOFFSET + 0x14F)    /* QuRT reported a bad address-space id */
#define AEE_EQURTOPENFAILED        (AEE_EOFFSET + 0x150)    /* opening a QuRT QDI driver failed */
#define AEE_EQURTCOPYFROMUSER      (AEE_EOFFSET + 0x151)    /* QuRT copy from user memory failed */
#define AEE_EQURTLINELOCK          (AEE_EOFFSET + 0x152)    /* QuRT cache line lock failed */
#define AEE_EQURTQDIDEFMETHOD      (AEE_EOFFSET + 0x153)    /* QuRT QDI default method failed */
#define AEE_EQURTCREATEHANDLE      (AEE_EOFFSET + 0x154)    /* creating a QuRT handle from an object failed */
#define AEE_EQURTWRITABLEMEM       (AEE_EOFFSET + 0x155)    /* QuRT content-protection migration hit writable memory */
#define AEE_EQURTTHREADCREATEDEF   (AEE_EOFFSET + 0x156)    /* QuRT default thread creation failed */
#define AEE_EQURTLOOKUPVA          (AEE_EOFFSET + 0x157)    /* QuRT virtual address lookup failed */
#define AEE_EQURTLOOKUPPA          (AEE_EOFFSET + 0x158)    /* QuRT physical address lookup failed */
#define AEE_EQURTMIGRATESECURE     (AEE_EOFFSET + 0x159)    /* QuRT content-protection migration failed */
#define AEE_EQURTQDIOPEN           (AEE_EOFFSET + 0x160)    /* QuRT QDI open failure */
#define AEE_EQURTMAPREMOVE         (AEE_EOFFSET + 0x161)    /* QuRT mapping removal failed */
#define AEE_EQURTQDICLOSE          (AEE_EOFFSET + 0x162)    /* QuRT QDI close failed */
#define AEE_EQURTWAIT              (AEE_EOFFSET + 0x163)    /* QuRT futex wait failed */
#define AEE_EMMPM_OFFSET           (AEE_EOFFSET + 0x170)    /* first code of the MMPM power-manager group */
#define AEE_EMMPMREQUEST           (AEE_EOFFSET + 0x171)    /* MMPM power request failed */
#define AEE_EMMPMRELEASE           (AEE_EOFFSET + 0x172)    /* MMPM release request failed */
#define AEE_EMMPMSETPARAM          (AEE_EOFFSET + 0x173)    /* MMPM set-parameter request failed */
#define AEE_EMMPMREGISTER          (AEE_EOFFSET + 0x174)    /* MMPM registration failed */
#define AEE_EMMPMGETINFO           (AEE_EOFFSET + 0x175)    /* MMPM info query failed */
#define AEE_EMAX_MMPM_CLIENTS      (AEE_EOFFSET + 0x176)    /* per-PD limit of MMPM clients reached */
#define AEE_EDCVSREGISTER          (AEE_EOFFSET + 0x177)    /* DCVS client registration failed */
#define AEE_PDRREGFAIL             (AEE_EOFFSET + 0x178)    /* registering PD-restart error callbacks failed */
#define AEE_DEFAULT_PROCESS        (AEE_EOFFSET + 0x180)    /* the guest OS default process is not present */
#define AEE_ENULLCONTEXT           (AEE_EOFFSET + 0x181)    /* user voted with a null context */
#define AEE_EINVALIDJOB            (AEE_EOFFSET + 0x182)    /* asynchronous RPC job is invalid */
#define AEE_EBUSY                  (AEE_EOFFSET + 0x183)    /* asynchronous RPC job is still pending */
#define E_APPS_BUSY_RETRY_LATER    (AEE_EOFFSET + 0x190)    /* application processor is busy; retry later */
#define E_HLOS_CAP_REACHED         (AEE_EOFFSET + 0x191)    /* host-OS memory cap reached; no more can be taken */
#define E_DPOOL_CAP_REACHED        (AEE_EOFFSET + 0x192)    /* physical pool cap reached; no more can be taken */
#define E_NO_MORE_FREE_SECTIONS    (AEE_EOFFSET + 0x193)    /* no free section left to grow the heap */
#define AEE_ESTUBSKELVERMISMATCH   (AEE_EOFFSET + 0x194)    /* stub interface version is newer than the skel's (newer header versions only) */
#define AEE_ERPC                   (AEE_EOFFSET + 0x200)    /* error inside the FastRPC framework */
#define AEE_EFILE                  (AEE_EOFFSET + 0x201)    /* file-handling error */

/* The transport group: GLINK names in a Hexagon build, SMD names on the CPU. */
#if defined(__hexagon__) || defined(QDA_SKEL)
  #define AEE_EGLINK_OFFSET          (AEE_EOFFSET + 0x100)    /* first code of the GLINK/SMD transport group */
  #define AEE_EGLINKBADPACKET        (AEE_EOFFSET + 0x101)    /* GLINK packet size is invalid */
  #define AEE_EGLINKALREADYOPEN      (AEE_EOFFSET + 0x102)    /* GLINK port is already open */
  #define AEE_EGLINKOPENFAILED       (AEE_EOFFSET + 0x103)    /* opening a GLINK port failed */
  #define AEE_EGLINKWRITE            (AEE_EOFFSET + 0x104)    /* writing to a GLINK port failed */
  #define AEE_EGLINKREGISTER         (AEE_EOFFSET + 0x105)    /* registering a GLINK port callback failed */
#else
  #define AEE_ESMD_OFFSET            (AEE_EOFFSET + 0x100)    /* first code of the SMD transport group */
  #define AEE_ESMDBADPACKET          (AEE_EOFFSET + 0x101)    /* SMD packet size is invalid */
  #define AEE_ESMDALREADYOPEN        (AEE_EOFFSET + 0x102)    /* SMD port is already open */
  #define AEE_ESMDOPENFAILED         (AEE_EOFFSET + 0x103)    /* opening an SMD port failed */
#endif

#endif /* AEESTDERR_H */
