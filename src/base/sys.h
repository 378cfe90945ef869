/* Raw system calls. The core never calls the libc mmap family that the preload
 * layer interposes, and never calls into stdio or malloc from its own threads. */
#ifndef USWAP_SYS_H
#define USWAP_SYS_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/syscall.h>
#include <unistd.h>

void *sys_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int sys_munmap(void *addr, size_t len);
void *sys_mremap(void *old, size_t old_len, size_t new_len, int flags, void *new_addr);
int sys_madvise(void *addr, size_t len, int advice);
int sys_mprotect(void *addr, size_t len, int prot);
int sys_futex_wait(uint32_t *uaddr, uint32_t val, long timeout_ns);
int sys_futex_wake(uint32_t *uaddr, int n);
pid_t sys_gettid(void); /* cached per thread */
/* In a forked child's one thread: its own tid from now on. */
void sys_fork_child(void);
uint64_t sys_now_ns(void);
uint64_t sys_thread_cpu_ns(void);

/* I/O of the runtime's own: never through the preload's read/write hooks. */
static inline ssize_t sys_read(int fd, void *buf, size_t n)
{
	return syscall(SYS_read, fd, buf, n);
}
static inline ssize_t sys_write(int fd, const void *buf, size_t n)
{
	return syscall(SYS_write, fd, buf, n);
}
static inline ssize_t sys_pread(int fd, void *buf, size_t n, off_t off)
{
	return syscall(SYS_pread64, fd, buf, n, off);
}
static inline ssize_t sys_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return syscall(SYS_pwrite64, fd, buf, n, off);
}

/* open() of one of this process's own /proc files (/proc/self/mem,
 * pagemap). After a set*id the kernel makes the process non-dumpable and
 * those files root's, 0600: a program that dropped to another user (and its
 * forked children) could no longer open them. So on EACCES in a
 * non-dumpable process the flag is set for the open alone and put back. */
int sys_open_self(const char *path, int flags);
/* n random bytes from getrandom (retried on EINTR and short reads): 0 or -errno. */
int sys_random(void *p, size_t n);
/* fstat of the runtime's own descriptors: the preload's fstat hook
 * answers EBADF for them. */
struct stat;
static inline int sys_fstat(int fd, struct stat *st)
{
	return (int)syscall(SYS_fstat, fd, st);
}

/* A mapping of anonymous, never-managed memory for runtime metadata. */
void *sys_alloc_meta(size_t len);

/* A futex-based mutex: usable from a signal handler as long as the interrupted
 * thread cannot hold it (runtime locks are never held while touching managed
 * memory). */
struct sys_lock {
	uint32_t word;
};
void sys_lock(struct sys_lock *l);
void sys_unlock(struct sys_lock *l);
/* sys_lock, giving up after timeout_ns: false if not taken. */
bool sys_lock_timed(struct sys_lock *l, uint64_t timeout_ns);

#define PAGE_SIZE 4096UL
#define PAGE_SHIFT 12
#define PAGE_ALIGN_DOWN(x) ((uintptr_t)(x) & ~(PAGE_SIZE - 1))
#define PAGE_ALIGN_UP(x) (((uintptr_t)(x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
