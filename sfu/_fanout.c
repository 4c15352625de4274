/*
 * sfu._fanout: the send path of one incoming RTP packet to every consumer, in C.
 *
 * Python keeps every decision (which consumers, source switches, keyframes, NACK answers,
 * pacing); this module only executes the per-packet work that Python would otherwise repeat
 * for every consumer (sfu/consumer.py's Consumer.forward_now is the reference):
 *
 *   - State: one consumer's forwarding state (SSRC, payload type, sequence/timestamp
 *     offsets, header-extension ids, VP8 picture id / TL0PICIDX continuity, the last
 *     sequence number sent, the sent ring for loss/RTT, the NACK cache). The ring and the
 *     cache are allocated at the first send (an empty seat holds neither). A cache entry
 *     is the packet's own head (header, extensions and at most the 6-byte VP8 descriptor,
 *     which a consumer rewrites) and a reference to the producer's payload object, which
 *     every consumer of that producer shares; cache_get rebuilds the packet from both.
 *     Python reads and writes it through attributes and a few methods.
 *   - Tx: one DTLS transport's outbound RTP: a libsrtp2 session made from the same key
 *     material as aiortc's, a socket (a dup of the worker's UDP mux socket) and the nominated
 *     remote address. Once a Tx exists for a transport, every RTP packet of that transport
 *     is protected by it (sfu/aiortc_glue.py routes aiortc's own protect() here), so that no
 *     two sessions ever protect two plaintexts under one SSRC and packet index.
 *   - forward(): per incoming packet, ONE call rewrites it for every consumer whose state
 *     says it is fed by this producer (the others are returned to Python), protects every
 *     copy with its transport's session and sends the batch with sendmmsg(2).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <srtp2/srtp.h>

#define RING 1024
#define RING_MASK (RING - 1)
#define CACHE 512 /* NACK cache entries (video): 512 packets, about 1 s of a 1.5 Mbit/s layer */
#define CACHE_MASK (CACHE - 1)
#define HEAD_MAX 64 /* a cache entry's own bytes: 12 + MAX_EXT + 6 (the VP8 descriptor) */
#define VP8_HEAD 6
#define BATCH 32
#define MAX_EXT 48      /* the fixed one-byte extension block: 4 + 17 + 4 + 2, padded */
#define MAX_PACKET 1600 /* a forwarded RTP packet, before SRTP */
#define SLOT_BYTES (MAX_PACKET + MAX_EXT + SRTP_MAX_TRAILER_LEN + 16)

/* ------------------------------------------------------------------ Tx */

typedef struct {
    PyObject_HEAD
    srtp_t session; /* NULL: plaintext (tests, plain transports) */
    int fd;         /* a dup of the socket; -1 once closed */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int open;
    unsigned long long sent;
    unsigned long long send_errors;
    unsigned long long protect_errors;
} TxObject;

static PyTypeObject TxType;

static int
parse_address(const char *host, int port, struct sockaddr_storage *out, socklen_t *len)
{
    memset(out, 0, sizeof(*out));
    if (port < 0 || port > 65535)
        return -1;
    struct sockaddr_in *v4 = (struct sockaddr_in *)out;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    return -1;
}

static int
Tx_init(TxObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"fd", "host", "port", "profile", "key", NULL};
    int fd, port, profile = 0;
    const char *host;
    Py_buffer key = {0};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "isi|iy*", kwlist, &fd, &host, &port,
                                     &profile, &key))
        return -1;
    if (self->session != NULL || self->fd >= 0) {
        PyBuffer_Release(&key);
        PyErr_SetString(PyExc_RuntimeError, "Tx is already initialised");
        return -1;
    }
    if (parse_address(host, port, &self->addr, &self->addrlen) < 0) {
        PyBuffer_Release(&key);
        PyErr_Format(PyExc_ValueError, "not an IP address and port: %s %d", host, port);
        return -1;
    }
    if (profile != 0) {
        srtp_policy_t policy;
        memset(&policy, 0, sizeof(policy));
        if (srtp_crypto_policy_set_from_profile_for_rtp(&policy.rtp, (srtp_profile_t)profile)
                != srtp_err_status_ok ||
            srtp_crypto_policy_set_from_profile_for_rtcp(&policy.rtcp, (srtp_profile_t)profile)
                != srtp_err_status_ok) {
            PyBuffer_Release(&key);
            PyErr_Format(PyExc_ValueError, "SRTP profile %d is not supported", profile);
            return -1;
        }
        int want = srtp_profile_get_master_key_length((srtp_profile_t)profile) +
                   srtp_profile_get_master_salt_length((srtp_profile_t)profile);
        if (key.buf == NULL || key.len != want) {
            PyBuffer_Release(&key);
            PyErr_Format(PyExc_ValueError, "SRTP profile %d needs %d bytes of key and salt",
                         profile, want);
            return -1;
        }
        policy.ssrc.type = ssrc_any_outbound;
        policy.key = (unsigned char *)key.buf;
        policy.window_size = 1024;
        policy.allow_repeat_tx = 1;
        policy.next = NULL;
        srtp_err_status_t rc = srtp_create(&self->session, &policy);
        PyBuffer_Release(&key);
        if (rc != srtp_err_status_ok) {
            self->session = NULL;
            PyErr_Format(PyExc_ValueError, "srtp_create failed (%d)", (int)rc);
            return -1;
        }
    } else {
        PyBuffer_Release(&key);
    }
    int copy = dup(fd);
    if (copy < 0) {
        if (self->session != NULL) {
            srtp_dealloc(self->session);
            self->session = NULL;
        }
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    self->fd = copy;
    self->open = 1;
    return 0;
}

static PyObject *
Tx_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    TxObject *self = (TxObject *)type->tp_alloc(type, 0);
    if (self != NULL) {
        self->session = NULL;
        self->fd = -1;
        self->open = 0;
    }
    return (PyObject *)self;
}

static void
Tx_release(TxObject *self)
{
    self->open = 0;
    if (self->fd >= 0) {
        close(self->fd);
        self->fd = -1;
    }
    if (self->session != NULL) {
        srtp_dealloc(self->session);
        self->session = NULL;
    }
}

static void
Tx_dealloc(TxObject *self)
{
    Tx_release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* Protect `len` bytes in place in buf (which has SRTP_MAX_TRAILER_LEN to spare). */
static int
tx_protect(TxObject *tx, uint8_t *buf, int *len)
{
    if (tx->session == NULL)
        return 0;
    if (srtp_protect(tx->session, buf, len) != srtp_err_status_ok) {
        tx->protect_errors++;
        return -1;
    }
    return 0;
}

static PyObject *
Tx_protect(TxObject *self, PyObject *arg)
{
    Py_buffer in;
    if (PyObject_GetBuffer(arg, &in, PyBUF_SIMPLE) < 0)
        return NULL;
    if (in.len < 12 || in.len > 65000) {
        PyBuffer_Release(&in);
        PyErr_SetString(PyExc_ValueError, "not an RTP packet");
        return NULL;
    }
    if (self->session == NULL && self->fd < 0) {
        PyBuffer_Release(&in);
        PyErr_SetString(PyExc_ConnectionError, "Tx is closed");
        return NULL;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, in.len + SRTP_MAX_TRAILER_LEN);
    if (out == NULL) {
        PyBuffer_Release(&in);
        return NULL;
    }
    uint8_t *buf = (uint8_t *)PyBytes_AS_STRING(out);
    memcpy(buf, in.buf, in.len);
    int len = (int)in.len;
    PyBuffer_Release(&in);
    if (tx_protect(self, buf, &len) < 0) {
        Py_DECREF(out);
        PyErr_SetString(PyExc_ValueError, "srtp_protect failed");
        return NULL;
    }
    if (_PyBytes_Resize(&out, len) < 0)
        return NULL;
    return out;
}

/* Send one packet (protected here): padding, retransmissions, packets Python wrote. */
static PyObject *
Tx_send(TxObject *self, PyObject *arg)
{
    Py_buffer in;
    if (PyObject_GetBuffer(arg, &in, PyBUF_SIMPLE) < 0)
        return NULL;
    if (!self->open || self->fd < 0) {
        PyBuffer_Release(&in);
        Py_RETURN_FALSE;
    }
    if (in.len < 12 || in.len > MAX_PACKET + MAX_EXT) {
        PyBuffer_Release(&in);
        PyErr_SetString(PyExc_ValueError, "not an RTP packet of a size this path sends");
        return NULL;
    }
    uint8_t buf[SLOT_BYTES];
    memcpy(buf, in.buf, in.len);
    int len = (int)in.len;
    PyBuffer_Release(&in);
    if (tx_protect(self, buf, &len) < 0)
        Py_RETURN_FALSE;
    if (sendto(self->fd, buf, len, MSG_DONTWAIT, (struct sockaddr *)&self->addr,
               self->addrlen) < 0)
        self->send_errors++;
    else
        self->sent++;
    Py_RETURN_TRUE;
}

/* The nominated pair moved (a nominated check from a new address, another mux socket). */
static PyObject *
Tx_retarget(TxObject *self, PyObject *args)
{
    int fd, port;
    const char *host;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    if (!PyArg_ParseTuple(args, "isi", &fd, &host, &port))
        return NULL;
    if (parse_address(host, port, &addr, &addrlen) < 0) {
        PyErr_Format(PyExc_ValueError, "not an IP address and port: %s %d", host, port);
        return NULL;
    }
    if (self->fd < 0) {
        PyErr_SetString(PyExc_ConnectionError, "Tx is closed");
        return NULL;
    }
    int copy = dup(fd);
    if (copy < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    close(self->fd);
    self->fd = copy;
    self->addr = addr;
    self->addrlen = addrlen;
    Py_RETURN_NONE;
}

static PyObject *
Tx_address(TxObject *self, PyObject *Py_UNUSED(ignored))
{
    char host[INET6_ADDRSTRLEN] = "";
    int port = 0;
    if (self->addr.ss_family == AF_INET) {
        struct sockaddr_in *v4 = (struct sockaddr_in *)&self->addr;
        inet_ntop(AF_INET, &v4->sin_addr, host, sizeof(host));
        port = ntohs(v4->sin_port);
    } else if (self->addr.ss_family == AF_INET6) {
        struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&self->addr;
        inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof(host));
        port = ntohs(v6->sin6_port);
    }
    return Py_BuildValue("(si)", host, port);
}

static PyObject *
Tx_close(TxObject *self, PyObject *Py_UNUSED(ignored))
{
    Tx_release(self);
    Py_RETURN_NONE;
}

static PyObject *
Tx_get_open(TxObject *self, void *closure)
{
    return PyBool_FromLong(self->open);
}

static int
Tx_set_open(TxObject *self, PyObject *value, void *closure)
{
    if (value == NULL) {
        PyErr_SetString(PyExc_AttributeError, "cannot delete open");
        return -1;
    }
    int truth = PyObject_IsTrue(value);
    if (truth < 0)
        return -1;
    self->open = truth && self->fd >= 0;
    return 0;
}

static PyMethodDef Tx_methods[] = {
    {"protect", (PyCFunction)Tx_protect, METH_O,
     "protect(packet) -> bytes: SRTP-protect one RTP packet with this transport's session"},
    {"send", (PyCFunction)Tx_send, METH_O,
     "send(packet) -> bool: protect and send one RTP packet; False when not open"},
    {"retarget", (PyCFunction)Tx_retarget, METH_VARARGS,
     "retarget(fd, host, port): send on this socket to this address from now on"},
    {"address", (PyCFunction)Tx_address, METH_NOARGS, "address() -> (host, port)"},
    {"close", (PyCFunction)Tx_close, METH_NOARGS, "close the socket copy and the session"},
    {NULL},
};

static PyMemberDef Tx_members[] = {
    {"sent", T_ULONGLONG, offsetof(TxObject, sent), READONLY, "datagrams sent"},
    {"send_errors", T_ULONGLONG, offsetof(TxObject, send_errors), READONLY,
     "datagrams the kernel refused (a full send buffer: dropped)"},
    {"protect_errors", T_ULONGLONG, offsetof(TxObject, protect_errors), READONLY,
     "packets libsrtp refused to protect"},
    {NULL},
};

static PyGetSetDef Tx_getset[] = {
    {"open", (getter)Tx_get_open, (setter)Tx_set_open, "whether packets go out", NULL},
    {NULL},
};

static PyTypeObject TxType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sfu._fanout.Tx",
    .tp_doc = "Tx(fd, host, port, profile=0, key=b''): one transport's outbound RTP",
    .tp_basicsize = sizeof(TxObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = Tx_new,
    .tp_init = (initproc)Tx_init,
    .tp_dealloc = (destructor)Tx_dealloc,
    .tp_methods = Tx_methods,
    .tp_members = Tx_members,
    .tp_getset = Tx_getset,
};

/* ------------------------------------------------------------------ State */

typedef struct {
    int ref_in, ref_out, started, sync_pending;
} Counter;

typedef struct {
    int seq[RING];
    double time[RING];
} Ring;

/* one cached packet: head[0:head_len] + body[skip:] (body NULL: the head alone) */
typedef struct {
    int seq;
    uint8_t head_len, skip;
    double time;
    PyObject *body; /* a bytes object: the producer's payload, shared, or a whole packet */
    uint8_t head[HEAD_MAX];
} CacheEntry;

typedef struct {
    PyObject_HEAD
    /* configuration (sfu/consumer.py _on_parameters) */
    unsigned int ssrc;
    int payload_type;
    int vp8;
    int video;
    int ext_mid, ext_abs, ext_level; /* 0: not negotiated */
    uint8_t fixed[20];               /* the mid element, written once */
    int fixed_len;
    int capable; /* the fixed one-byte extension form fits: C may send this consumer */
    /* progress */
    int seq_offset;
    unsigned int ts_offset;
    int last_seq;
    unsigned int last_ts;
    double last_wall;
    char frame_open;
    long long upstream_gaps;
    long long packets_sent;
    long long bytes_sent;
    /* VP8 picture id / TL0PICIDX continuity (sfu/vp8.py Vp8PictureIdRewriter) */
    Counter picture_id, tl0;
    PyObject *vp8_source; /* borrowed identity kept alive: a strong reference */
    /* the sent ring (sequence number -> when) and the NACK cache (video): NULL until the
       first send, and the cache again after cache_clear */
    Ring *ring;
    CacheEntry *cache;
    PyObject *tx;     /* a Tx or None */
    /* the producer whose packets C writes for this consumer now, or None: Python decides
       every packet (sfu/consumer.py Consumer._arm: set when the consumer is ready, not
       closed, fed by that source with no switch or resync pending) */
    PyObject *feed;
} StateObject;

static PyTypeObject StateType;

static PyObject *
State_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    StateObject *self = (StateObject *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->tx = Py_None;
    Py_INCREF(Py_None);
    self->feed = Py_None;
    Py_INCREF(Py_None);
    return (PyObject *)self;
}

static int
State_init(StateObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"video", NULL};
    int video = 0;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|p", kwlist, &video))
        return -1;
    self->video = video;
    return 0;
}

/* The ring, allocated at the first packet sent; 0, or -1 with MemoryError. */
static int
ring_ready(StateObject *self)
{
    if (self->ring != NULL)
        return 0;
    Ring *ring = PyMem_Malloc(sizeof(Ring));
    if (ring == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < RING; i++) {
        ring->seq[i] = -1;
        ring->time[i] = 0.0;
    }
    self->ring = ring;
    return 0;
}

/* The NACK cache (video only), allocated at the first packet put. 1 when there is one,
   0 for audio, -1 with MemoryError. */
static int
cache_ready(StateObject *self)
{
    if (!self->video)
        return 0;
    if (self->cache != NULL)
        return 1;
    CacheEntry *cache = PyMem_Calloc(CACHE, sizeof(CacheEntry));
    if (cache == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (int i = 0; i < CACHE; i++)
        cache[i].seq = -1;
    self->cache = cache;
    return 1;
}

/* Keep head[0:head_len] + body[skip:] for seq (body a bytes object or NULL: a new
   reference is taken). A head too long for an entry is joined with the body into one new
   bytes object. 0, or -1 with an exception. */
static int
cache_store(StateObject *self, int seq, const uint8_t *head, Py_ssize_t head_len,
            PyObject *body, Py_ssize_t skip, double now)
{
    CacheEntry *e = &self->cache[seq & CACHE_MASK];
    PyObject *keep = body;
    if (head_len > HEAD_MAX || skip > 255) {
        Py_ssize_t rest = body == NULL ? 0 : PyBytes_GET_SIZE(body) - skip;
        keep = PyBytes_FromStringAndSize(NULL, head_len + rest);
        if (keep == NULL)
            return -1;
        memcpy(PyBytes_AS_STRING(keep), head, head_len);
        if (rest > 0)
            memcpy(PyBytes_AS_STRING(keep) + head_len, PyBytes_AS_STRING(body) + skip, rest);
        head_len = 0;
        skip = 0;
    } else {
        Py_XINCREF(keep);
    }
    Py_XSETREF(e->body, keep);
    memcpy(e->head, head, head_len);
    e->head_len = (uint8_t)head_len;
    e->skip = (uint8_t)skip;
    e->seq = seq;
    e->time = now;
    return 0;
}

/* Forget every cached packet and give the cache's memory back. */
static void
cache_clear(StateObject *self)
{
    CacheEntry *cache = self->cache;
    if (cache == NULL)
        return;
    self->cache = NULL;
    for (int i = 0; i < CACHE; i++)
        Py_CLEAR(cache[i].body);
    PyMem_Free(cache);
}

static int
State_traverse(StateObject *self, visitproc visit, void *arg)
{
    Py_VISIT(self->tx);
    Py_VISIT(self->vp8_source);
    Py_VISIT(self->feed);
    return 0;
}

static int
State_clear(StateObject *self)
{
    Py_CLEAR(self->tx);
    Py_CLEAR(self->vp8_source);
    Py_CLEAR(self->feed);
    return 0;
}

static void
State_dealloc(StateObject *self)
{
    PyObject_GC_UnTrack(self);
    State_clear(self);
    cache_clear(self);
    PyMem_Free(self->ring);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
State_configure(StateObject *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"ssrc", "payload_type", "vp8", "ext_mid", "ext_abs",
                             "ext_level", "mid", NULL};
    unsigned int ssrc;
    int pt, vp8, ext_mid, ext_abs, ext_level;
    Py_buffer mid;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "Iipiiiy*", kwlist, &ssrc, &pt, &vp8,
                                     &ext_mid, &ext_abs, &ext_level, &mid))
        return NULL;
    if (pt < 0 || pt > 127 || ext_mid < 0 || ext_abs < 0 || ext_level < 0) {
        PyBuffer_Release(&mid);
        PyErr_SetString(PyExc_ValueError, "payload type 0..127 and extension ids >= 0");
        return NULL;
    }
    self->ssrc = ssrc;
    self->payload_type = pt;
    self->vp8 = vp8;
    self->ext_mid = ext_mid;
    self->ext_abs = ext_abs;
    self->ext_level = ext_level;
    /* the rule of Consumer._fixed_extensions: every id 1..14 and a mid of at most 16 */
    int capable = mid.len <= 16;
    if ((ext_mid && ext_mid > 14) || (ext_abs && ext_abs > 14) ||
        (ext_level && ext_level > 14))
        capable = 0;
    self->fixed_len = 0;
    if (capable && ext_mid && mid.len > 0) {
        self->fixed[0] = (uint8_t)((ext_mid << 4) | (mid.len - 1));
        memcpy(self->fixed + 1, mid.buf, mid.len);
        self->fixed_len = 1 + (int)mid.len;
    }
    self->capable = capable;
    PyBuffer_Release(&mid);
    Py_RETURN_NONE;
}

/* The ring and the cache, for Python's decisions (NACKs, loss, RTT). */

static PyObject *
State_mark_sent(StateObject *self, PyObject *args)
{
    int seq;
    double now;
    if (!PyArg_ParseTuple(args, "id", &seq, &now))
        return NULL;
    seq &= 0xFFFF;
    if (ring_ready(self) < 0)
        return NULL;
    self->ring->seq[seq & RING_MASK] = seq;
    self->ring->time[seq & RING_MASK] = now;
    Py_RETURN_NONE;
}

static PyObject *
State_sent_time(StateObject *self, PyObject *arg)
{
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred())
        return NULL;
    int i = (int)(seq & RING_MASK);
    if (self->ring == NULL || self->ring->seq[i] != (int)(seq & 0xFFFF) || seq < 0 ||
        seq > 0xFFFF)
        return PyFloat_FromDouble(0.0);
    return PyFloat_FromDouble(self->ring->time[i]);
}

static PyObject *
State_forget_sent(StateObject *self, PyObject *arg)
{
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred())
        return NULL;
    int i = (int)(seq & RING_MASK);
    if (self->ring != NULL && self->ring->seq[i] == (int)(seq & 0xFFFF))
        self->ring->time[i] = 0.0;
    Py_RETURN_NONE;
}

static PyObject *
State_cache_put(StateObject *self, PyObject *args)
{
    int seq, skip = 0;
    PyObject *data, *body = NULL;
    double now;
    if (!PyArg_ParseTuple(args, "iSd|Si", &seq, &data, &now, &body, &skip))
        return NULL;
    if (skip < 0 || skip > 255 || (body != NULL && skip > PyBytes_GET_SIZE(body))) {
        PyErr_SetString(PyExc_ValueError, "skip is 0..255 and at most the body's length");
        return NULL;
    }
    if (body != NULL && PyBytes_GET_SIZE(body) == 0)
        body = NULL;
    int r = cache_ready(self);
    if (r <= 0)
        return r < 0 ? NULL : Py_NewRef(Py_None);
    seq &= 0xFFFF;
    if (body == NULL) { /* a whole packet: kept as it is */
        if (cache_store(self, seq, NULL, 0, data, 0, now) < 0)
            return NULL;
    } else if (cache_store(self, seq, (const uint8_t *)PyBytes_AS_STRING(data),
                           PyBytes_GET_SIZE(data), body, skip, now) < 0) {
        return NULL;
    }
    Py_RETURN_NONE;
}

static PyObject *
State_cache_get(StateObject *self, PyObject *args)
{
    int seq;
    double now, max_age = 1.0;
    if (!PyArg_ParseTuple(args, "id|d", &seq, &now, &max_age))
        return NULL;
    if (self->cache == NULL)
        Py_RETURN_NONE;
    CacheEntry *e = &self->cache[seq & CACHE_MASK];
    if (e->seq != seq || now - e->time > max_age || (e->body == NULL && e->head_len == 0))
        Py_RETURN_NONE;
    if (e->head_len == 0 && e->skip == 0)
        return Py_NewRef(e->body);
    Py_ssize_t rest = e->body == NULL ? 0 : PyBytes_GET_SIZE(e->body) - e->skip;
    PyObject *out = PyBytes_FromStringAndSize(NULL, e->head_len + rest);
    if (out == NULL)
        return NULL;
    memcpy(PyBytes_AS_STRING(out), e->head, e->head_len);
    if (rest > 0)
        memcpy(PyBytes_AS_STRING(out) + e->head_len, PyBytes_AS_STRING(e->body) + e->skip,
               rest);
    return out;
}

/* The payload object a cached packet refers to (for tests: shared, not copied). */
static PyObject *
State_cache_body(StateObject *self, PyObject *arg)
{
    long seq = PyLong_AsLong(arg);
    if (seq == -1 && PyErr_Occurred())
        return NULL;
    if (self->cache == NULL)
        Py_RETURN_NONE;
    CacheEntry *e = &self->cache[seq & CACHE_MASK];
    if (e->seq != (int)seq || e->body == NULL)
        Py_RETURN_NONE;
    return Py_NewRef(e->body);
}

static PyObject *
State_get_allocated(StateObject *self, void *Py_UNUSED(closure))
{
    return PyBool_FromLong(self->ring != NULL || self->cache != NULL);
}

static PyObject *
State_get_cache_size(StateObject *self, void *Py_UNUSED(closure))
{
    return PyLong_FromLong(self->video ? CACHE : 0);
}

static PyGetSetDef State_getset[] = {
    {"allocated", (getter)State_get_allocated, NULL,
     "whether the sent ring or the NACK cache holds memory (something was sent)", NULL},
    {"cache_size", (getter)State_get_cache_size, NULL, "NACK cache entries (0: audio)",
     NULL},
    {NULL},
};

static PyObject *
State_cache_clear(StateObject *self, PyObject *Py_UNUSED(ignored))
{
    cache_clear(self);
    Py_RETURN_NONE;
}

static PyMethodDef State_methods[] = {
    {"configure", (PyCFunction)(void (*)(void))State_configure, METH_VARARGS | METH_KEYWORDS,
     "configure(ssrc, payload_type, vp8, ext_mid, ext_abs, ext_level, mid)"},
    {"mark_sent", (PyCFunction)State_mark_sent, METH_VARARGS,
     "mark_sent(seq, now): a packet went out (padding)"},
    {"sent_time", (PyCFunction)State_sent_time, METH_O,
     "sent_time(seq) -> float: when it went out, 0.0 if unknown or forgotten"},
    {"forget_sent", (PyCFunction)State_forget_sent, METH_O,
     "forget_sent(seq): a NACK for it was counted"},
    {"cache_put", (PyCFunction)State_cache_put, METH_VARARGS,
     "cache_put(seq, data, now, body=b'', skip=0): keep data + body[skip:] (body shared)"},
    {"cache_body", (PyCFunction)State_cache_body, METH_O,
     "cache_body(seq) -> bytes | None: the payload object that entry refers to"},
    {"cache_get", (PyCFunction)State_cache_get, METH_VARARGS,
     "cache_get(seq, now, max_age_s=1.0) -> bytes | None"},
    {"cache_clear", (PyCFunction)State_cache_clear, METH_NOARGS, "empty the NACK cache"},
    {NULL},
};

static PyMemberDef State_members[] = {
    {"ssrc", T_UINT, offsetof(StateObject, ssrc), READONLY, NULL},
    {"payload_type", T_INT, offsetof(StateObject, payload_type), READONLY, NULL},
    {"capable", T_INT, offsetof(StateObject, capable), READONLY,
     "1 when C can write this consumer's packets"},
    {"seq_offset", T_INT, offsetof(StateObject, seq_offset), 0, NULL},
    {"ts_offset", T_UINT, offsetof(StateObject, ts_offset), 0, NULL},
    {"last_seq", T_INT, offsetof(StateObject, last_seq), 0, NULL},
    {"last_ts", T_UINT, offsetof(StateObject, last_ts), 0, NULL},
    {"last_wall", T_DOUBLE, offsetof(StateObject, last_wall), 0, NULL},
    {"frame_open", T_BOOL, offsetof(StateObject, frame_open), 0, NULL},
    {"upstream_gaps", T_LONGLONG, offsetof(StateObject, upstream_gaps), 0, NULL},
    {"packets_sent", T_LONGLONG, offsetof(StateObject, packets_sent), 0, NULL},
    {"bytes_sent", T_LONGLONG, offsetof(StateObject, bytes_sent), 0, NULL},
    {"tx", T_OBJECT, offsetof(StateObject, tx), 0, "the Tx its packets go out on, or None"},
    {"feed", T_OBJECT, offsetof(StateObject, feed), 0,
     "the producer whose packets C writes for this consumer, or None (Python decides)"},
    {NULL},
};

static PyTypeObject StateType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "sfu._fanout.State",
    .tp_doc = "State(video=False): one consumer's forwarding state",
    .tp_basicsize = sizeof(StateObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_new = State_new,
    .tp_init = (initproc)State_init,
    .tp_dealloc = (destructor)State_dealloc,
    .tp_traverse = (traverseproc)State_traverse,
    .tp_clear = (inquiry)State_clear,
    .tp_methods = State_methods,
    .tp_members = State_members,
    .tp_getset = State_getset,
};

/* ------------------------------------------------------------------ VP8 */

typedef struct {
    int valid;
    int pid_pos;   /* -1: no picture id */
    int pid_15;    /* 15-bit picture id */
    int pid;
    int tl0_pos;   /* -1: no TL0PICIDX */
    int tl0;
} Vp8Desc;

/* sfu/vp8.py parse_vp8_descriptor: the same errors make the packet invalid. */
static Vp8Desc
parse_vp8(const uint8_t *p, Py_ssize_t n)
{
    Vp8Desc d = {0, -1, 0, 0, -1, 0};
    if (n < 1)
        return d;
    if (p[0] & 0x80) {
        if (n < 2)
            return d;
        uint8_t ext = p[1];
        Py_ssize_t pos = 2;
        if (ext & 0x80) {
            if (n < pos + 1)
                return d;
            if (p[pos] & 0x80) {
                if (n < pos + 2)
                    return d;
                d.pid = ((p[pos] & 0x7F) << 8) | p[pos + 1];
                d.pid_15 = 1;
                d.pid_pos = (int)pos;
                pos += 2;
            } else {
                d.pid = p[pos];
                d.pid_pos = (int)pos;
                pos += 1;
            }
        }
        if (ext & 0x40) {
            if (n < pos + 1)
                return d;
            d.tl0 = p[pos];
            d.tl0_pos = (int)pos;
            pos += 1;
        }
        if (ext & 0x30) {
            if (n < pos + 1)
                return d;
        }
    }
    d.valid = 1;
    return d;
}

static int
pymod(long a, long m)
{
    long r = a % m;
    return (int)(r < 0 ? r + m : r);
}

/* sfu/vp8.py _ContinuousCounter.map */
static int
counter_map(Counter *c, int value, int in_modulo, int out_modulo)
{
    if (!c->started) {
        c->started = 1;
        c->sync_pending = 0;
        c->ref_in = value;
        c->ref_out = value % out_modulo;
        return c->ref_out;
    }
    if (c->sync_pending) {
        c->sync_pending = 0;
        c->ref_in = value;
        c->ref_out = (c->ref_out + 1) % out_modulo;
        return c->ref_out;
    }
    int half = in_modulo >> 1;
    int delta = pymod((long)value - c->ref_in + half, in_modulo) - half;
    int output = pymod((long)c->ref_out + delta, out_modulo);
    if (delta > 0) {
        c->ref_in = value;
        c->ref_out = output;
    }
    return output;
}

/* ------------------------------------------------------------------ forward */

typedef struct {
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    uint8_t buf[BATCH][SLOT_BYTES];
    TxObject *tx[BATCH];
    int count;
} Batch;

static void
batch_flush(Batch *b)
{
    int start = 0;
    while (start < b->count) {
        int fd = b->tx[start]->fd;
        int end = start + 1;
        while (end < b->count && b->tx[end]->fd == fd)
            end++;
        int off = start;
        while (off < end) {
            int n = sendmmsg(fd, b->msgs + off, (unsigned int)(end - off), MSG_DONTWAIT);
            if (n <= 0) {
                if (n < 0 && errno == EINTR)
                    continue;
                b->tx[off]->send_errors++; /* a full buffer: this one is dropped */
                off++;
                continue;
            }
            for (int i = off; i < off + n; i++)
                b->tx[i]->sent++;
            off += n;
        }
        start = end;
    }
    b->count = 0;
}

static PyObject *str_fw;

/*
 * Write one consumer's copy into `out` (MAX_PACKET + MAX_EXT bytes): the RTP packet exactly
 * as Consumer.forward_now writes it. Returns its length, or -1 when the packet is not for
 * this consumer's writer (a VP8 consumer and an undecodable descriptor: dropped, as there).
 */
static int
write_copy(StateObject *st, PyObject *producer, uint8_t *out, int seq, unsigned int ts,
           int marker, const uint8_t *payload, Py_ssize_t payload_len, int level,
           const uint8_t abs[3], const Vp8Desc *vp8)
{
    uint8_t *p = out;
    int has_ext;
    uint8_t ext[MAX_EXT];
    int body = 0;
    /* extensions (Consumer._extensions, the fixed form) */
    memcpy(ext + 4, st->fixed, st->fixed_len);
    body = st->fixed_len;
    if (st->ext_abs) {
        ext[4 + body++] = (uint8_t)((st->ext_abs << 4) | 2);
        ext[4 + body++] = abs[0];
        ext[4 + body++] = abs[1];
        ext[4 + body++] = abs[2];
    }
    if (st->ext_level && level >= 0) {
        ext[4 + body++] = (uint8_t)(st->ext_level << 4);
        ext[4 + body++] = (uint8_t)level;
    }
    has_ext = body > 0;
    int ext_len = 0;
    if (has_ext) {
        while (body % 4)
            ext[4 + body++] = 0;
        ext[0] = 0xBE;
        ext[1] = 0xDE;
        ext[2] = (uint8_t)((body / 4) >> 8);
        ext[3] = (uint8_t)(body / 4);
        ext_len = 4 + body;
    }
    p[0] = 0x80 | (has_ext ? 0x10 : 0);
    p[1] = (uint8_t)((marker ? 0x80 : 0) | (st->payload_type & 0x7F));
    p[2] = (uint8_t)(seq >> 8);
    p[3] = (uint8_t)seq;
    p[4] = (uint8_t)(ts >> 24);
    p[5] = (uint8_t)(ts >> 16);
    p[6] = (uint8_t)(ts >> 8);
    p[7] = (uint8_t)ts;
    p[8] = (uint8_t)(st->ssrc >> 24);
    p[9] = (uint8_t)(st->ssrc >> 16);
    p[10] = (uint8_t)(st->ssrc >> 8);
    p[11] = (uint8_t)st->ssrc;
    memcpy(p + 12, ext, ext_len);
    uint8_t *pl = p + 12 + ext_len;
    memcpy(pl, payload, payload_len);
    if (st->vp8 && payload_len > 0) {
        /* Vp8PictureIdRewriter.rewrite, then rewrite_vp8_descriptor */
        if (st->vp8_source == NULL || st->vp8_source != producer) {
            if (st->vp8_source != NULL) {
                st->picture_id.sync_pending = 1;
                st->tl0.sync_pending = 1;
            }
            Py_INCREF(producer);
            Py_XSETREF(st->vp8_source, producer);
        }
        if (vp8->pid_pos >= 0) {
            int out_pid = counter_map(&st->picture_id, vp8->pid, vp8->pid_15 ? 32768 : 128,
                                      32768);
            if (vp8->pid_15) {
                pl[vp8->pid_pos] = (uint8_t)(0x80 | ((out_pid >> 8) & 0x7F));
                pl[vp8->pid_pos + 1] = (uint8_t)(out_pid & 0xFF);
            } else {
                pl[vp8->pid_pos] = (uint8_t)(out_pid & 0x7F);
            }
        }
        if (vp8->tl0_pos >= 0) {
            int out_tl0 = counter_map(&st->tl0, vp8->tl0, 256, 256);
            pl[vp8->tl0_pos] = (uint8_t)(out_tl0 & 0xFF);
        }
    }
    return 12 + ext_len + (int)payload_len;
}

/*
 * forward(producer, consumers, sequence_number, timestamp, marker, payload, level, abs_send_time,
 *         now) -> list of the consumers left to Python
 *
 * For every consumer whose `_fw` is a State that C can write and whose `feed` is `producer`
 * (Python set it: ready, not closed, fed by that source, no switch or resync pending; no
 * Python attribute is read per packet): rewrite, keep its bookkeeping, protect and send.
 * Every other consumer is returned, in order, for Consumer.forward_now to decide.
 */
static PyObject *
fanout_forward(PyObject *module, PyObject *args)
{
    PyObject *producer, *consumers;
    int seq_in, marker, level;
    unsigned int ts_in, abs_time;
    PyObject *payload_obj, *body = NULL;
    Py_buffer payload;
    double now;
    if (!PyArg_ParseTuple(args, "OOiIpOiId", &producer, &consumers, &seq_in, &ts_in, &marker,
                          &payload_obj, &level, &abs_time, &now))
        return NULL;
    if (PyObject_GetBuffer(payload_obj, &payload, PyBUF_SIMPLE) < 0)
        return NULL;
    if (PyBytes_CheckExact(payload_obj)) { /* immutable: the cache may keep a reference */
        body = payload_obj;
        Py_INCREF(body);
    }
    if (payload.len > MAX_PACKET - 12) {
        PyBuffer_Release(&payload);
        PyErr_SetString(PyExc_ValueError, "payload too large for the C path");
        Py_XDECREF(body);
        return NULL;
    }
    PyObject *pending = PyList_New(0);
    PyObject *iter = PyObject_GetIter(consumers);
    if (pending == NULL || iter == NULL)
        goto fail;
    const uint8_t *pl = (const uint8_t *)payload.buf;
    Vp8Desc vp8 = parse_vp8(pl, payload.len);
    uint8_t abs[3] = {(uint8_t)(abs_time >> 16), (uint8_t)(abs_time >> 8), (uint8_t)abs_time};
    Batch *batch = PyMem_Malloc(sizeof(Batch));
    if (batch == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    batch->count = 0;
    PyObject *consumer;
    while ((consumer = PyIter_Next(iter)) != NULL) {
        int mine = 0;
        PyObject *fw = PyObject_GetAttr(consumer, str_fw);
        if (fw == NULL) {
            if (!PyErr_ExceptionMatches(PyExc_AttributeError)) {
                Py_DECREF(consumer);
                goto fail_batch;
            }
            PyErr_Clear(); /* not a Consumer of ours: Python decides */
            fw = Py_None;
            Py_INCREF(fw);
        }
        if (Py_IS_TYPE(fw, &StateType) && ((StateObject *)fw)->capable &&
            ((StateObject *)fw)->feed == producer)
            mine = 1;
        if (!mine) {
            Py_DECREF(fw);
            int rc = PyList_Append(pending, consumer);
            Py_DECREF(consumer);
            if (rc < 0)
                goto fail_batch;
            continue;
        }
        Py_DECREF(consumer);
        StateObject *st = (StateObject *)fw;
        if (st->vp8 && payload.len > 0 && !vp8.valid) {
            Py_DECREF(fw);
            continue; /* forward_now: an undecodable VP8 descriptor is not sent */
        }
        int seq = (seq_in + st->seq_offset) & 0xFFFF;
        unsigned int ts = ts_in + st->ts_offset;
        uint8_t *out = batch->buf[batch->count];
        if (ring_ready(st) < 0 || cache_ready(st) < 0) {
            Py_DECREF(fw);
            goto fail_batch;
        }
        int len = write_copy(st, producer, out, seq, ts, marker, pl, payload.len, level, abs,
                             &vp8);
        if (st->cache != NULL) {
            /* the head: header, extensions and the (rewritten) VP8 descriptor; the rest is
               the producer's payload, shared */
            Py_ssize_t skip = st->vp8 ? (payload.len < VP8_HEAD ? payload.len : VP8_HEAD) : 0;
            Py_ssize_t head_len = len - payload.len + skip;
            if (body == NULL) {
                body = PyBytes_FromStringAndSize((const char *)pl, payload.len);
                if (body == NULL) {
                    Py_DECREF(fw);
                    goto fail_batch;
                }
            }
            if (cache_store(st, seq, out, head_len, payload.len ? body : NULL, skip, now) <
                0) {
                Py_DECREF(fw);
                goto fail_batch;
            }
        }
        int ahead = (seq - st->last_seq) & 0xFFFF;
        if (ahead < 0x8000) {
            if (ahead > 1)
                st->upstream_gaps += ahead - 1;
            st->last_seq = seq;
            st->last_ts = ts;
            st->last_wall = now;
            st->frame_open = st->video && !marker;
        } else if (st->upstream_gaps > 0) {
            st->upstream_gaps -= 1;
        }
        st->ring->seq[seq & RING_MASK] = seq;
        st->ring->time[seq & RING_MASK] = now;
        TxObject *tx = Py_IS_TYPE(st->tx, &TxType) ? (TxObject *)st->tx : NULL;
        if (tx != NULL && tx->open) {
            st->packets_sent += 1;
            st->bytes_sent += payload.len;
            if (tx_protect(tx, out, &len) == 0) {
                int k = batch->count;
                batch->iov[k].iov_base = out;
                batch->iov[k].iov_len = (size_t)len;
                memset(&batch->msgs[k], 0, sizeof(batch->msgs[k]));
                batch->msgs[k].msg_hdr.msg_name = &tx->addr;
                batch->msgs[k].msg_hdr.msg_namelen = tx->addrlen;
                batch->msgs[k].msg_hdr.msg_iov = &batch->iov[k];
                batch->msgs[k].msg_hdr.msg_iovlen = 1;
                Py_INCREF(tx);
                batch->tx[k] = tx;
                batch->count++;
                if (batch->count == BATCH) {
                    batch_flush(batch);
                    for (int i = 0; i < BATCH; i++)
                        Py_DECREF(batch->tx[i]);
                }
            }
        }
        Py_DECREF(fw);
    }
    if (PyErr_Occurred())
        goto fail_batch;
    {
        int n = batch->count;
        batch_flush(batch);
        for (int i = 0; i < n; i++)
            Py_DECREF(batch->tx[i]);
    }
    PyMem_Free(batch);
    Py_DECREF(iter);
    Py_XDECREF(body);
    PyBuffer_Release(&payload);
    return pending;

fail_batch:
    {
        int n = batch->count;
        batch_flush(batch);
        for (int i = 0; i < n; i++)
            Py_DECREF(batch->tx[i]);
        PyMem_Free(batch);
    }
fail:
    Py_XDECREF(iter);
    Py_XDECREF(pending);
    Py_XDECREF(body);
    PyBuffer_Release(&payload);
    return NULL;
}

static PyMethodDef module_methods[] = {
    {"forward", fanout_forward, METH_VARARGS,
     "forward(producer, consumers, sequence_number, timestamp, marker, payload, level, "
     "abs_send_time, now) -> list: send one packet to every consumer fed by producer; the "
     "consumers left for Python's decisions are returned"},
    {NULL},
};

static struct PyModuleDef fanout_module = {
    PyModuleDef_HEAD_INIT, "sfu._fanout",
    "The fan-out of one RTP packet to every consumer: rewrite, SRTP, sendmmsg.", -1,
    module_methods,
};

PyMODINIT_FUNC
PyInit__fanout(void)
{
    if (srtp_init() != srtp_err_status_ok) {
        PyErr_SetString(PyExc_ImportError, "srtp_init failed");
        return NULL;
    }
    if (PyType_Ready(&TxType) < 0 || PyType_Ready(&StateType) < 0)
        return NULL;
    str_fw = PyUnicode_InternFromString("_fw");
    if (!str_fw)
        return NULL;
    PyObject *m = PyModule_Create(&fanout_module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&TxType);
    Py_INCREF(&StateType);
    if (PyModule_AddObject(m, "Tx", (PyObject *)&TxType) < 0 ||
        PyModule_AddObject(m, "State", (PyObject *)&StateType) < 0 ||
        PyModule_AddIntConstant(m, "RING", RING) < 0 ||
        PyModule_AddIntConstant(m, "CACHE", CACHE) < 0 ||
        PyModule_AddIntConstant(m, "MAX_PAYLOAD", MAX_PACKET - 12) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
