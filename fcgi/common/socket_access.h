/*
 * socket_access.h — who may connect to a unix socket of ours.
 *
 * Anyone who can connect to the pool's or the event daemon's socket can go
 * around nginx, and one idle connection per worker stops the pool. So a
 * unix socket is never open to every local user: it is born owner-only
 * (0600), and --socket-group NAME opens it to that group too (0660), the
 * group nginx's workers run as. A TCP listener is not concerned.
 */
#ifndef LI_SOCKET_ACCESS_H
#define LI_SOCKET_ACCESS_H

#include <sys/types.h>

struct socket_access {
	const char *group;          /* --socket-group, or NULL: owner only */
	gid_t gid;
};

/* Looks up --socket-group NAME (a group name or number). Returns LI_OK, or
 * LI_ERROR with a sentence in err. */
int socket_access_set_group(struct socket_access *sa, const char *name,
    char *err, size_t errlen);

/* Call right before bind(): sockets created until socket_access_apply() are
 * born 0600, so there is no moment where they are wider. Returns the umask
 * to give back to socket_access_apply(). */
mode_t socket_access_begin(void);

/* Call right after bind(): restores the umask, then gives the socket at path
 * its group and mode (path NULL, a TCP listener: the umask alone). Returns
 * LI_OK, or LI_ERROR with errno set. */
int socket_access_apply(const struct socket_access *sa, const char *path,
    mode_t old_umask);

#endif
