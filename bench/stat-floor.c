// The floor of a no-op re-run (docs/benchmarks.md, "the no-op's floor"): readdir + one statx per file over a tree of
// folders one level deep, the folders shared among T threads. Build: gcc -O2 -o stat-floor bench/stat-floor.c -lpthread;
// run: /usr/bin/time ./stat-floor TREE T
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <stdatomic.h>
static char **dirs; static int ndirs; static atomic_int next; static atomic_long files, bytes;
static void *work(void *_) {
  for (;;) {
    int i = atomic_fetch_add(&next, 1); if (i >= ndirs) return 0;
    int fd = open(dirs[i], O_RDONLY | O_DIRECTORY); DIR *d = fdopendir(fd); struct dirent *e; long n = 0, b = 0;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      struct statx sx; if (statx(fd, e->d_name, AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_SIZE | STATX_MTIME, &sx) == 0) { n++; b += sx.stx_size; }
    }
    closedir(d); atomic_fetch_add(&files, n); atomic_fetch_add(&bytes, b);
  }
}
int main(int argc, char **argv) {
  int t = atoi(argv[2]); DIR *r = opendir(argv[1]); struct dirent *e; dirs = malloc(sizeof(char *) * 100000);
  while ((e = readdir(r))) if (e->d_name[0] != '.') { asprintf(&dirs[ndirs++], "%s/%s", argv[1], e->d_name); }
  pthread_t th[64]; for (int i = 0; i < t; i++) pthread_create(&th[i], 0, work, 0);
  for (int i = 0; i < t; i++) pthread_join(th[i], 0);
  printf("%ld files %ld bytes\n", files, bytes); return 0;
}
