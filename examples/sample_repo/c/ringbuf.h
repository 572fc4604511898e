/* Fixed-size byte ring buffer used to batch log lines before they hit the disk. */
#ifndef NOTES_RINGBUF_H
#define NOTES_RINGBUF_H

#include <stddef.h>

typedef struct {
    unsigned char *data;
    size_t capacity;
    size_t head;  /* next byte to read */
    size_t count; /* bytes currently stored */
} ringbuf_t;

int ringbuf_init(ringbuf_t *rb, size_t capacity);
void ringbuf_free(ringbuf_t *rb);
size_t ringbuf_write(ringbuf_t *rb, const unsigned char *src, size_t len);
size_t ringbuf_read(ringbuf_t *rb, unsigned char *dst, size_t len);
size_t ringbuf_space(const ringbuf_t *rb);

#endif /* NOTES_RINGBUF_H */
