/* remote.h: the FastRPC application API (qda SDK).
 *
 * Facts: qualcomm/fastrpc inc/remote.h @ 29851fde11d4 (names, values, layouts,
 * enum orders, prototypes); GDSP0_DOMAIN_ID and GDSP1_DOMAIN_ID from
 * inc/fastrpc_common.h @ 29851fde11d4 (they were in remote.h until that
 * commit, at 09a2f3c; applications still need them, so they are here).
 * The text and organisation are qda's. crates/qda-uapi/src/remote.rs mirrors
 * every struct and constant, and crates/qda-sdk/tests/abi.rs checks the two
 * against each other with a C compiler.
 *
 * An application opens a module on a DSP with remote_handle64_open (a URI
 * such as "file:///libcalculator_skel.so?calculator_skel_handle_invoke"
 * "&_modver=1.0" CDSP_DOMAIN) and calls its methods with
 * remote_handle64_invoke. qaic-generated stubs do exactly that.
 */
#ifndef REMOTE_H
#define REMOTE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- declaration decorators ----
 * qaic-generated stubs and skels spell their declarations with these. Here
 * they are plain: no export attribute, no annotations. Define one before
 * including this header to change it. */
#ifndef __QAIC_REMOTE
#define __QAIC_REMOTE(ff) ff
#endif
#ifndef __QAIC_REMOTE_EXPORT
#define __QAIC_REMOTE_EXPORT
#endif
#ifndef __QAIC_REMOTE_ATTRIBUTE
#define __QAIC_REMOTE_ATTRIBUTE
#endif
#ifndef __QAIC_RETURN
#define __QAIC_RETURN
#endif
#ifndef __QAIC_IN
#define __QAIC_IN
#endif
#ifndef __QAIC_OUT
#define __QAIC_OUT
#endif
#ifndef __QAIC_IN_CHAR
#define __QAIC_IN_CHAR
#endif
#ifndef __QAIC_IN_LEN
#define __QAIC_IN_LEN(len)
#endif
#ifndef __QAIC_INT64PTR
#define __QAIC_INT64PTR uint64_t
#endif

/* ---- the scalars word ----
 * Every invocation carries one 32-bit word describing its arguments:
 *   bits 31..29 attributes, 28..24 method, 23..16 input buffers,
 *   15..8 output buffers, 7..4 input handles, 3..0 output handles.
 * The remote_arg array holds input buffers, output buffers, input handles,
 * output handles, in that order. */
#define REMOTE_SCALARS_METHOD_ATTR(sc) (((sc) >> 29) & 0x7)
#define REMOTE_SCALARS_METHOD(sc) (((sc) >> 24) & 0x1f)
#define REMOTE_SCALARS_INBUFS(sc) (((sc) >> 16) & 0x0ff)
#define REMOTE_SCALARS_OUTBUFS(sc) (((sc) >> 8) & 0x0ff)
#define REMOTE_SCALARS_INHANDLES(sc) (((sc) >> 4) & 0x0f)
#define REMOTE_SCALARS_OUTHANDLES(sc) ((sc) & 0x0f)

/* Build a scalars word; each field is cut to its width. */
#define REMOTE_SCALARS_MAKEX(attr, method, in, out, hin, hout) \
    ((((uint32_t)(attr) & 0x7) << 29) |                       \
     (((uint32_t)(method) & 0x1f) << 24) |                    \
     (((uint32_t)(in) & 0xff) << 16) |                        \
     (((uint32_t)(out) & 0xff) << 8) |                        \
     (((uint32_t)(hin) & 0x0f) << 4) |                        \
     ((uint32_t)(hout) & 0x0f))
/* Buffers only, no attributes, no handles. */
#define REMOTE_SCALARS_MAKE(method, in, out) REMOTE_SCALARS_MAKEX(0, method, in, out, 0, 0)

/* How many remote_arg entries a call with this word takes. */
#define REMOTE_SCALARS_LENGTH(sc)                            \
    (REMOTE_SCALARS_INBUFS(sc) + REMOTE_SCALARS_OUTBUFS(sc) + \
     REMOTE_SCALARS_INHANDLES(sc) + REMOTE_SCALARS_OUTHANDLES(sc))

/* ---- domains ---- */

/* Domain ids (the domain field or argument of the calls below). */
#define ADSP_DOMAIN_ID 0  /* audio DSP */
#define MDSP_DOMAIN_ID 1  /* modem DSP */
#define SDSP_DOMAIN_ID 2  /* sensors DSP */
#define CDSP_DOMAIN_ID 3  /* compute DSP */
#define CDSP1_DOMAIN_ID 4 /* second compute DSP */
#define GDSP0_DOMAIN_ID 5 /* general-purpose DSP 0 */
#define GDSP1_DOMAIN_ID 6 /* general-purpose DSP 1 */

/* Domain names. */
#define ADSP_DOMAIN_NAME "adsp"
#define MDSP_DOMAIN_NAME "mdsp"
#define SDSP_DOMAIN_NAME "sdsp"
#define CDSP_DOMAIN_NAME "cdsp"
#define CDSP1_DOMAIN_NAME "cdsp1"
#define GDSP0_DOMAIN_NAME "gdsp0"
#define GDSP1_DOMAIN_NAME "gdsp1"

/* Suffixes that pick the domain of a module URI. */
#define ADSP_DOMAIN "&_dom=adsp"
#define MDSP_DOMAIN "&_dom=mdsp"
#define SDSP_DOMAIN "&_dom=sdsp"
#define CDSP_DOMAIN "&_dom=cdsp"
#define CDSP1_DOMAIN "&_dom=cdsp1"
#define GDSP0_DOMAIN "&_dom=gdsp0"
#define GDSP1_DOMAIN "&_dom=gdsp1"

/* Prefix of the library's internal pseudo-URIs (e.g. "attachguestos"). */
#define ITRANSPORT_PREFIX "'\":;./\\"

/* Room for a domain suffix in domain_t, NUL included. */
#define MAX_DOMAIN_URI_SIZE 12

/* A domain id with its URI suffix. */
typedef struct domain {
    int id;
    char uri[MAX_DOMAIN_URI_SIZE];
} domain_t;

/* ---- handles and arguments ---- */

/* A module opened with remote_handle_open (single-domain API). */
typedef uint32_t remote_handle;
/* A module opened with remote_handle64_open (multi-domain API). */
typedef uint64_t remote_handle64;

/* A buffer argument: CPU address and length in bytes. */
typedef struct {
    void *pv;
    size_t nLen;
} remote_buf;

/* A buffer argument with fixed 64-bit fields. */
typedef struct {
    uint64_t pv;
    int64_t nLen;
} remote_buf64;

/* A buffer passed as a dma-buf fd and an offset into it. */
typedef struct {
    int32_t fd;
    uint32_t offset;
} remote_dma_handle;

/* The same with the buffer's length. */
typedef struct {
    int32_t fd;
    uint32_t offset;
    uint32_t len;
} remote_dma_handle64;

/* One argument of an invocation; which member is meant follows from its
 * position (see the scalars word). */
typedef union {
    remote_buf buf;
    remote_handle h;
    remote_handle64 h64;
    remote_dma_handle dma;
} remote_arg;

/* The same with the 64-bit buffer and dma forms. */
typedef union {
    remote_buf64 buf;
    remote_handle h;
    remote_handle64 h64;
    remote_dma_handle64 dma;
} remote_arg64;

/* ---- asynchronous calls ---- */

/* How the caller learns that an asynchronous call finished. */
enum fastrpc_async_notify_type {
    FASTRPC_ASYNC_NO_SYNC = 0,  /* it does not */
    FASTRPC_ASYNC_CALLBACK = 1, /* the callback in the descriptor runs */
    FASTRPC_ASYNC_POLL = 2      /* it asks with fastrpc_async_get_status */
};

/* Identifies a queued asynchronous call. */
typedef uint64_t fastrpc_async_jobid;

/* Function run when an asynchronous call finishes, with its context. */
typedef struct fastrpc_async_callback {
    void (*fn)(fastrpc_async_jobid jobid, void *context, int result);
    void *context;
} fastrpc_async_callback_t;

/* Describes an asynchronous call; the library fills in jobid. */
typedef struct fastrpc_async_descriptor {
    enum fastrpc_async_notify_type type;
    fastrpc_async_jobid jobid;
    fastrpc_async_callback_t cb;
} fastrpc_async_descriptor_t;

/* ---- remote_handle_control / remote_handle64_control requests ---- */

enum handle_control_req_id {
    DSPRPC_RESERVED = 0,
    DSPRPC_CONTROL_LATENCY = 1,     /* struct remote_rpc_control_latency */
    DSPRPC_GET_DSP_INFO = 2,        /* struct remote_dsp_capability */
    DSPRPC_CONTROL_WAKELOCK = 3,    /* struct remote_rpc_control_wakelock */
    DSPRPC_GET_DOMAIN = 4,          /* struct remote_rpc_get_domain */
    DSPRPC_SET_PATH = 5,            /* struct remote_control_custom_path */
    DSPRPC_GET_PATH = 6,            /* struct remote_control_custom_path */
    DSPRPC_SMMU_SUPPORT = 7,        /* does the kernel use an SMMU */
    DSPRPC_KALLOC_SUPPORT = 8,      /* can the kernel allocate for the DSP */
    DSPRPC_PM = 9,                  /* keep the CPU awake */
    DSPRPC_RPC_POLL = 10,           /* set the kernel's polling mode */
    DSPRPC_ASYNC_WAKE = 11,         /* stop the asynchronous-response thread */
    DSPRPC_NOTIF_WAKE = 12,         /* stop the notification thread */
    DSPRPC_REMOTE_PROCESS_KILL = 13, /* kill the DSP process */
    DSPRPC_SET_MODE = 14            /* set a mode (REMOTE_MODE_*) */
};

/* Latency strategies (remote_rpc_control_latency.enable). */
enum remote_rpc_latency_flags {
    RPC_DISABLE_QOS = 0,  /* none */
    RPC_PM_QOS = 1,       /* keep CPU low-power states short while calls run */
    RPC_ADAPTIVE_QOS = 2, /* wake the CPU when a call is predicted to end */
    RPC_POLL_QOS = 3      /* spin for the reply of synchronous calls */
};

/* DSPRPC_CONTROL_LATENCY. */
struct remote_rpc_control_latency {
    uint32_t enable;  /* an enum remote_rpc_latency_flags value */
    uint32_t latency; /* microseconds: tolerated latency, or for
                         RPC_POLL_QOS how long to poll (at most 10000) */
};

/* What DSPRPC_GET_DSP_INFO can ask (remote_dsp_capability.attribute_ID). */
enum remote_dsp_attributes {
    DOMAIN_SUPPORT = 0,              /* 1 when the domain exists */
    UNSIGNED_PD_SUPPORT = 1,         /* 1 when unsigned processes may run */
    HVX_SUPPORT_64B = 2,             /* HVX units in 64-byte mode */
    HVX_SUPPORT_128B = 3,            /* HVX units in 128-byte mode */
    VTCM_PAGE = 4,                   /* largest VTCM page, bytes */
    VTCM_COUNT = 5,                  /* VTCM pages of that size */
    ARCH_VER = 6,                    /* Hexagon architecture version */
    HMX_SUPPORT_DEPTH = 7,           /* HMX depth */
    HMX_SUPPORT_SPATIAL = 8,         /* HMX spatial size */
    ASYNC_FASTRPC_SUPPORT = 9,       /* 1 when asynchronous calls work */
    STATUS_NOTIFICATION_SUPPORT = 10, /* 1 when status notifications work */
    MCID_MULTICAST = 11              /* multicast widget programming */
};

/* DSPRPC_GET_DSP_INFO: fill domain and attribute_ID, read capability. */
typedef struct remote_dsp_capability {
    uint32_t domain;
    uint32_t attribute_ID;
    uint32_t capability;
} fastrpc_capability;

/* Defined when DSPRPC_CONTROL_WAKELOCK is available. */
#define FASTRPC_WAKELOCK_CONTROL_SUPPORTED 1

/* DSPRPC_CONTROL_WAKELOCK. */
struct remote_rpc_control_wakelock {
    uint32_t enable; /* hold a wake lock while calls run */
};

/* DSPRPC_GET_DOMAIN: the domain of a handle (remote_handle64_control), or
 * the default domain (remote_handle_control). */
typedef struct remote_rpc_get_domain {
    int domain;
} remote_rpc_get_domain_t;

/* DSPRPC_SET_PATH / DSPRPC_GET_PATH: a key naming a path and its value, used
 * when a file URI names the key. */
struct remote_control_custom_path {
    int32_t value_size; /* bytes of value, NUL included */
    const char *path;   /* the key */
    char *value;        /* the path */
};

/* ---- remote_session_control requests ---- */

enum session_control_req_id {
    FASTRPC_RESERVED_1 = 0,
    FASTRPC_THREAD_PARAMS = 1,                  /* struct remote_rpc_thread_params */
    DSPRPC_CONTROL_UNSIGNED_MODULE = 2,         /* struct remote_rpc_control_unsigned_module */
    FASTRPC_RESERVED_2 = 3,
    FASTRPC_RELATIVE_THREAD_PRIORITY = 4,       /* struct remote_rpc_relative_thread_priority */
    FASTRPC_RESERVED_3 = 5,
    FASTRPC_REMOTE_PROCESS_KILL = 6,            /* struct remote_rpc_process_clean_params */
    FASTRPC_SESSION_CLOSE = 7,                  /* struct remote_rpc_session_close */
    FASTRPC_CONTROL_PD_DUMP = 8,                /* struct remote_rpc_control_pd_dump */
    FASTRPC_REMOTE_PROCESS_EXCEPTION = 9,       /* remote_rpc_process_exception */
    FASTRPC_REMOTE_PROCESS_TYPE = 10,           /* struct remote_process_type */
    FASTRPC_REGISTER_STATUS_NOTIFICATIONS = 11, /* remote_rpc_notif_register_t */
    FASTRPC_PD_INITMEM_SIZE = 12,               /* struct remote_rpc_pd_initmem_size */
    FASTRPC_RESERVE_NEW_SESSION = 13,           /* remote_rpc_reserve_new_session_t */
    FASTRPC_GET_EFFECTIVE_DOMAIN_ID = 14,       /* remote_rpc_effective_domain_id_t */
    FASTRPC_GET_URI = 15,                       /* remote_rpc_get_uri_t */
    FASTRPC_MAX_THREAD_PARAM = 16,
    FASTRPC_CONTEXT_CREATE = 17,                /* fastrpc_context_create */
    FASTRPC_CONTEXT_DESTROY = 18                /* fastrpc_context_destroy */
};

/* FASTRPC_THREAD_PARAMS; -1 in a field keeps its default, domain -1 means
 * every domain. */
struct remote_rpc_thread_params {
    int domain;
    int prio;       /* 1 (highest) to 255 */
    int stack_size; /* bytes */
};

/* DSPRPC_CONTROL_UNSIGNED_MODULE; domain -1 means every domain. */
struct remote_rpc_control_unsigned_module {
    int domain;
    int enable; /* run the process unsigned */
};

/* FASTRPC_RELATIVE_THREAD_PRIORITY; domain -1 means every domain. */
struct remote_rpc_relative_thread_priority {
    int domain;
    int relative_thread_priority; /* added to the default; negative is higher */
};

/* FASTRPC_REMOTE_PROCESS_KILL (and, as remote_rpc_process_exception,
 * FASTRPC_REMOTE_PROCESS_EXCEPTION). */
struct remote_rpc_process_clean_params {
    int domain;
};

/* FASTRPC_SESSION_CLOSE; domain -1 closes every session. */
struct remote_rpc_session_close {
    int domain;
};

/* FASTRPC_CONTROL_PD_DUMP. */
struct remote_rpc_control_pd_dump {
    int domain;
    int enable; /* dump the process when it crashes */
};

typedef struct remote_rpc_process_clean_params remote_rpc_process_exception;

/* Kinds of DSP process (remote_process_type.process_type). */
enum fastrpc_process_type {
    PROCESS_TYPE_SIGNED = 0,
    PROCESS_TYPE_UNSIGNED = 1
};

/* FASTRPC_REMOTE_PROCESS_TYPE: ask which kind of process a domain runs. */
struct remote_process_type {
    int domain;
    int process_type; /* out: an enum fastrpc_process_type value */
};

/* What a status notification reports. */
typedef enum remote_rpc_status_flags {
    FASTRPC_USER_PD_UP = 0,         /* the process is running */
    FASTRPC_USER_PD_EXIT = 1,       /* it exited */
    FASTRPC_USER_PD_FORCE_KILL = 2, /* it was killed */
    FASTRPC_USER_PD_EXCEPTION = 3,  /* it crashed */
    FASTRPC_DSP_SSR = 4             /* the DSP restarted */
} remote_rpc_status_flags_t;

/* A status notification callback. */
typedef int (*fastrpc_notif_fn_t)(void *context, int domain, int session,
                                  remote_rpc_status_flags_t status);

/* FASTRPC_REGISTER_STATUS_NOTIFICATIONS. */
typedef struct remote_rpc_notif_register {
    void *context; /* passed back to notifier_fn */
    int domain;
    fastrpc_notif_fn_t notifier_fn;
} remote_rpc_notif_register_t;

/* FASTRPC_PD_INITMEM_SIZE: memory given to the process when it starts. */
struct remote_rpc_pd_initmem_size {
    int domain;
    uint32_t pd_initmem_size; /* bytes */
};

/* FASTRPC_RESERVE_NEW_SESSION: another session on a domain; the library
 * fills in effective_domain_id and session_id. */
typedef struct remote_rpc_reserve_new_session {
    char *domain_name;
    uint32_t domain_name_len;
    char *session_name;
    uint32_t session_name_len;
    uint32_t effective_domain_id;
    uint32_t session_id;
} remote_rpc_reserve_new_session_t;

/* FASTRPC_GET_EFFECTIVE_DOMAIN_ID: the domain id a session of a domain is
 * addressed by. */
typedef struct remote_rpc_effective_domain_id {
    char *domain_name;
    uint32_t domain_name_len;
    uint32_t session_id;
    uint32_t effective_domain_id; /* out */
} remote_rpc_effective_domain_id_t;

/* FASTRPC_GET_URI: a module URI with the session's suffix appended. */
typedef struct remote_rpc_get_uri {
    char *domain_name;
    uint32_t domain_name_len;
    uint32_t session_id;
    char *module_uri;
    uint32_t module_uri_len;
    char *uri; /* out */
    uint32_t uri_len;
} remote_rpc_get_uri_t;

/* FASTRPC_CONTEXT_CREATE: one context over several effective domains. */
typedef struct fastrpc_context_create {
    uint32_t *effec_domain_ids;
    uint32_t num_domain_ids;
    uint64_t flags;
    uint64_t ctx; /* out */
} fastrpc_context_create;

/* FASTRPC_CONTEXT_DESTROY. */
typedef struct fastrpc_context_destroy {
    uint64_t ctx;
    uint64_t flags;
} fastrpc_context_destroy;

/* ---- mappings ---- */

/* remote_mem_map flags. */
enum remote_mem_map_flags {
    REMOTE_MAP_MEM_STATIC = 0 /* mapped until remote_mem_unmap */
};

/* fastrpc_mmap flags. */
enum fastrpc_map_flags {
    FASTRPC_MAP_STATIC = 0,      /* one DSP address for all calls; the driver cleans the cache */
    FASTRPC_MAP_RESERVED = 1,
    FASTRPC_MAP_FD = 2,          /* mapped now; the caller keeps the caches coherent */
    FASTRPC_MAP_FD_DELAYED = 3,  /* the DSP side maps it itself (HAP_mmap) */
    FASTRPC_MAP_RESERVED_4 = 4,
    FASTRPC_MAP_RESERVED_5 = 5,
    FASTRPC_MAP_RESERVED_6 = 6,
    FASTRPC_MAP_RESERVED_7 = 7,
    FASTRPC_MAP_RESERVED_8 = 8,
    FASTRPC_MAP_RESERVED_9 = 9,
    FASTRPC_MAP_RESERVED_10 = 10,
    FASTRPC_MAP_RESERVED_11 = 11,
    FASTRPC_MAP_RESERVED_12 = 12,
    FASTRPC_MAP_RESERVED_13 = 13,
    FASTRPC_MAP_RESERVED_14 = 14,
    FASTRPC_MAP_RESERVED_15 = 15,
    FASTRPC_MAP_FD_NOMAP = 16    /* as FD_DELAYED, without a CPU mapping */
};

/* Attribute bits of remote_register_buf_attr / remote_register_dma_handle_attr. */
#define FASTRPC_ATTR_NONE 0
#define FASTRPC_ATTR_NON_COHERENT 2        /* non-coherent: the driver maintains caches */
#define FASTRPC_ATTR_COHERENT 4            /* coherent: no cache maintenance */
#define FASTRPC_ATTR_KEEP_MAP 8            /* keep the mapping until unmapped */
#define FASTRPC_ATTR_NOMAP 16              /* no SMMU mapping (secure buffers) */
#define FASTRPC_ATTR_FORCE_NOFLUSH 32      /* never clean the cache for it */
#define FASTRPC_ATTR_FORCE_NOINVALIDATE 64 /* never invalidate the cache for it */
#define FASTRPC_ATTR_TRY_MAP_STATIC 128    /* try a persistent mapping */

/* DSPRPC_SET_MODE values. */
#define REMOTE_MODE_PARALLEL 0
#define REMOTE_MODE_SERIAL 1

/* ---- functions ----
 * Unless said otherwise a call returns 0 (AEE_SUCCESS) or an AEEStdErr.h
 * code. */

/* Open a module by URI; the single-domain form and the multi-domain form. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle_open)(__QAIC_IN_CHAR const char *name, __QAIC_OUT remote_handle *ph) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle64_open)(__QAIC_IN_CHAR const char *name, __QAIC_OUT remote_handle64 *ph) __QAIC_REMOTE_ATTRIBUTE;

/* Call method REMOTE_SCALARS_METHOD(dwScalars) with the arguments in pra. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle_invoke)(__QAIC_IN remote_handle h, __QAIC_IN uint32_t dwScalars, __QAIC_IN remote_arg *pra) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle64_invoke)(__QAIC_IN remote_handle64 h, __QAIC_IN uint32_t dwScalars, __QAIC_IN remote_arg *pra) __QAIC_REMOTE_ATTRIBUTE;

/* Close a module. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle_close)(__QAIC_IN remote_handle h) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle64_close)(__QAIC_IN remote_handle64 h) __QAIC_REMOTE_ATTRIBUTE;

/* A handle_control_req_id request with its struct in data. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle_control)(__QAIC_IN uint32_t req, __QAIC_IN_LEN(datalen) void *data, __QAIC_IN uint32_t datalen) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle64_control)(__QAIC_IN remote_handle64 h, __QAIC_IN uint32_t req, __QAIC_IN_LEN(datalen) void *data, __QAIC_IN uint32_t datalen) __QAIC_REMOTE_ATTRIBUTE;

/* A session_control_req_id request with its struct in data. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_session_control)(__QAIC_IN uint32_t req, __QAIC_IN_LEN(datalen) void *data, __QAIC_IN uint32_t datalen) __QAIC_REMOTE_ATTRIBUTE;

/* Queue a call and return; desc says how completion is reported. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle_invoke_async)(__QAIC_IN remote_handle h, __QAIC_IN fastrpc_async_descriptor_t *desc, __QAIC_IN uint32_t dwScalars, __QAIC_IN remote_arg *pra) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_handle64_invoke_async)(__QAIC_IN remote_handle64 h, __QAIC_IN fastrpc_async_descriptor_t *desc, __QAIC_IN uint32_t dwScalars, __QAIC_IN remote_arg *pra) __QAIC_REMOTE_ATTRIBUTE;

/* Wait up to timeout_us (-1: forever) for a queued call; *result is its
 * return value. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(fastrpc_async_get_status)(__QAIC_IN fastrpc_async_jobid jobid, __QAIC_IN int timeout_us, __QAIC_OUT int *result);
/* Forget a finished queued call. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(fastrpc_release_async_job)(__QAIC_IN fastrpc_async_jobid jobid);

/* Deprecated mappings (use fastrpc_mmap): 32-bit, then 64-bit addresses. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_mmap)(__QAIC_IN int fd, __QAIC_IN uint32_t flags, __QAIC_IN uint32_t vaddrin, __QAIC_IN int size, __QAIC_OUT uint32_t *vaddrout) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_munmap)(__QAIC_IN uint32_t vaddrout, __QAIC_IN int size) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_mem_map)(__QAIC_IN int domain, __QAIC_IN int fd, __QAIC_IN int flags, __QAIC_IN uint64_t virtAddr, __QAIC_IN size_t size, __QAIC_OUT uint64_t *remoteVirtAddr) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_mem_unmap)(__QAIC_IN int domain, __QAIC_IN uint64_t remoteVirtAddr, __QAIC_IN size_t size) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_mmap64)(__QAIC_IN int fd, __QAIC_IN uint32_t flags, __QAIC_IN __QAIC_INT64PTR vaddrin, __QAIC_IN int64_t size, __QAIC_OUT __QAIC_INT64PTR *vaddrout) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_munmap64)(__QAIC_IN __QAIC_INT64PTR vaddrout, __QAIC_IN int64_t size) __QAIC_REMOTE_ATTRIBUTE;

/* Map a dma-buf (fd, mapped at addr on the CPU) into the domain's process
 * (domain -1: the default); offset and length page-aligned. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(fastrpc_mmap)(__QAIC_IN int domain, __QAIC_IN int fd, __QAIC_IN void *addr, __QAIC_IN int offset, __QAIC_IN size_t length, __QAIC_IN enum fastrpc_map_flags flags) __QAIC_REMOTE_ATTRIBUTE;
/* Undo fastrpc_mmap; do it before closing fd. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(fastrpc_munmap)(__QAIC_IN int domain, __QAIC_IN int fd, __QAIC_IN void *addr, __QAIC_IN size_t length) __QAIC_REMOTE_ATTRIBUTE;

/* Tell the library that buf..buf+size is dma-buf fd, so calls pass it
 * without a copy; fd -1 forgets it. attr: FASTRPC_ATTR_* bits. Errors are
 * reported in errno. The int size forms take less than 2 GB. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN void __QAIC_REMOTE(remote_register_buf)(__QAIC_IN_LEN(size) void *buf, __QAIC_IN int size, __QAIC_IN int fd) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN void __QAIC_REMOTE(remote_register_buf_attr)(__QAIC_IN_LEN(size) void *buf, __QAIC_IN int size, __QAIC_IN int fd, __QAIC_IN int attr) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN void __QAIC_REMOTE(remote_register_buf_attr2)(__QAIC_IN_LEN(size) void *buf, __QAIC_IN size_t size, __QAIC_IN int fd, __QAIC_IN int attr) __QAIC_REMOTE_ATTRIBUTE;

/* Register a dma-buf fd of len bytes by itself; 0, or -1 with errno set. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_register_dma_handle)(__QAIC_IN int fd, __QAIC_IN uint32_t len) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN int __QAIC_REMOTE(remote_register_dma_handle_attr)(__QAIC_IN int fd, __QAIC_IN uint32_t len, __QAIC_IN uint32_t attr) __QAIC_REMOTE_ATTRIBUTE;

/* Register a dma-buf fd that has no CPU mapping: returns an address (of an
 * inaccessible reservation) that stands for it in calls, or (void *)-1 with
 * errno set. remote_register_buf(addr, size, -1) undoes it. */
__QAIC_REMOTE_EXPORT __QAIC_RETURN void *__QAIC_REMOTE(remote_register_fd)(__QAIC_IN int fd, __QAIC_IN int size) __QAIC_REMOTE_ATTRIBUTE;
__QAIC_REMOTE_EXPORT __QAIC_RETURN void *__QAIC_REMOTE(remote_register_fd2)(__QAIC_IN int fd, __QAIC_IN size_t size) __QAIC_REMOTE_ATTRIBUTE;

#ifdef __cplusplus
}
#endif

#endif /* REMOTE_H */
