/*
 * postings.c — the docs holding a term, in increasing doc order, as a byte
 * string: per posting a varint of the gap to the previous doc and one flags
 * byte (fields, description tf).  Most gaps fit one byte, so a posting costs
 * about two.  Every SX_BLOCK postings a block starts whose first doc and
 * byte offset are kept aside: a query that already knows its candidates
 * skips the blocks holding none of them without decoding them.
 */
#include "sx.h"

#include <string.h>

int sx_postings_add(sx_postings_t *p, uint32_t doc, uint8_t flags)
{
    uint32_t gap;
    if (p->nblk == 0 || p->inblk == SX_BLOCK) {
        if (sx_grow(&p->blk, &p->blkcap, 2 * (p->nblk + 1), sizeof(*p->blk)) < 0)
            return SX_ENOMEM;
        p->blk[2 * p->nblk] = doc;
        p->blk[2 * p->nblk + 1] = p->len;
        p->nblk++;
        p->inblk = 0;
        gap = 0; /* a block's first doc is in blk[], not in the bytes */
    } else {
        gap = doc - p->last_doc;
    }
    if (p->len + 6 > p->cap && sx_grow(&p->buf, &p->cap, p->len + 6, 1) < 0)
        return SX_ENOMEM;
    while (gap >= 0x80) {
        p->buf[p->len++] = (uint8_t)(gap | 0x80);
        gap >>= 7;
    }
    p->buf[p->len++] = (uint8_t)gap;
    p->buf[p->len++] = flags;
    p->last_doc = doc;
    p->inblk++;
    p->n++;
    return 0;
}

void sx_piter_init(sx_piter_t *it, const sx_postings_t *p)
{
    it->p = p;
    it->pos = 0;
    it->blk = 0;
    it->inblk = 0;
    it->doc = 0;
}

int sx_piter_next(sx_piter_t *it, uint32_t *doc, uint8_t *flags)
{
    const sx_postings_t *p = it->p;
    if (it->pos >= p->len)
        return 0;
    const uint8_t *b = p->buf;
    uint32_t pos = it->pos;
    if (it->blk < p->nblk && pos == p->blk[2 * it->blk + 1]) {
        it->doc = p->blk[2 * it->blk];
        it->blk++;
        pos++; /* the zero gap */
    } else {
        uint32_t gap = 0, shift = 0;
        while (b[pos] & 0x80) {
            gap |= (uint32_t)(b[pos++] & 0x7f) << shift;
            shift += 7;
        }
        gap |= (uint32_t)b[pos++] << shift;
        it->doc += gap;
    }
    *flags = b[pos++];
    *doc = it->doc;
    it->pos = pos;
    return 1;
}

uint32_t sx_postings_block(const sx_postings_t *p, uint32_t b, uint32_t *docs, uint8_t *flags)
{
    const uint8_t *buf = p->buf;
    uint32_t pos = p->blk[2 * b + 1];
    uint32_t stop = b + 1 < p->nblk ? p->blk[2 * (b + 1) + 1] : p->len;
    uint32_t doc = p->blk[2 * b], k = 0;
    docs[k] = doc;
    flags[k++] = buf[pos + 1];
    pos += 2;
    while (pos < stop) {
        uint32_t gap = buf[pos++];
        if (gap & 0x80) {
            uint32_t shift = 7;
            gap &= 0x7f;
            do {
                gap |= (uint32_t)(buf[pos] & 0x7f) << shift;
                shift += 7;
            } while (buf[pos++] & 0x80);
        }
        doc += gap;
        docs[k] = doc;
        flags[k++] = buf[pos++];
    }
    return k;
}

void sx_postings_free(sx_postings_t *p)
{
    sx_free(p->buf);
    sx_free(p->blk);
    memset(p, 0, sizeof(*p));
}
