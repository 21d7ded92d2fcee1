/*
 * socket_access.c — the mode and group of our unix sockets (see the header
 * for why they are never world-writable).
 */
#include <config.h>

#include <grp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "li.h"
#include "option.h"
#include "socket_access.h"

int
socket_access_set_group(struct socket_access *sa, const char *name, char *err,
    size_t errlen)
{
	const struct group *gr;
	long n;

	if ((gr = getgrnam(name)) != NULL) {
		sa->gid = gr->gr_gid;
	} else if ((n = option_number(name, 0, 0x7fffffffL)) >= 0) {
		sa->gid = (gid_t)n;
	} else {
		snprintf(err, errlen, "--socket-group: no group '%s'", name);
		return LI_ERROR;
	}
	sa->group = name;
	return LI_OK;
}

mode_t
socket_access_begin(void)
{
	return umask(0177);
}

int
socket_access_apply(const struct socket_access *sa, const char *path,
    mode_t old_umask)
{
	(void)umask(old_umask);
	if (path == NULL)
		return LI_OK;
	/* Only root, or a member of the group, may give the socket to it. */
	if (sa->group != NULL && chown(path, (uid_t)-1, sa->gid) != 0)
		return LI_ERROR;
	return chmod(path, sa->group != NULL ? 0660 : 0600) == 0 ? LI_OK : LI_ERROR;
}
