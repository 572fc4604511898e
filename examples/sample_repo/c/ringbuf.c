#include "ringbuf.h"

#include <stdlib.h>
#include <string.h>

/*
 * Allocate the backing storage and reset the indices.
 * Returns 0 on success and -1 when memory could not be obtained.
 */
int ringbuf_init(ringbuf_t *rb, size_t capacity)
{
    rb->data = malloc(capacity);
    if (rb->data == NULL) {
        return -1;
    }
    rb->capacity = capacity;
    rb->head = 0;
    rb->count = 0;
    return 0;
}

/* Release the storage; the struct may be initialised again afterwards. */
void ringbuf_free(ringbuf_t *rb)
{
    free(rb->data);
    rb->data = NULL;
    rb->capacity = rb->head = rb->count = 0;
}

/* How many more bytes fit before the buffer is full. */
size_t ringbuf_space(const ringbuf_t *rb)
{
    return rb->capacity - rb->count;
}

/*
 * Append up to len bytes, wrapping around the end of the storage.
 * Bytes that do not fit are dropped; the number actually stored is returned.
 */
size_t ringbuf_write(ringbuf_t *rb, const unsigned char *src, size_t len)
{
    size_t n = len < ringbuf_space(rb) ? len : ringbuf_space(rb);
    size_t tail = (rb->head + rb->count) % rb->capacity;
    size_t first = n < rb->capacity - tail ? n : rb->capacity - tail;

    memcpy(rb->data + tail, src, first);
    memcpy(rb->data, src + first, n - first);
    rb->count += n;
    return n;
}

/*
 * Remove up to len of the oldest bytes into dst, oldest first.
 * Returns how many bytes were copied (0 when the buffer is empty).
 */
size_t ringbuf_read(ringbuf_t *rb, unsigned char *dst, size_t len)
{
    size_t n = len < rb->count ? len : rb->count;
    size_t first = n < rb->capacity - rb->head ? n : rb->capacity - rb->head;

    memcpy(dst, rb->data + rb->head, first);
    memcpy(dst + first, rb->data, n - first);
    rb->head = (rb->head + n) % rb->capacity;
    rb->count -= n;
    return n;
}
