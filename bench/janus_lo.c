/* LD_PRELOAD shim for the benchmark's Janus: make loopback its only ICE interface.
 *
 * Janus (1.1.2) and libnice skip interfaces flagged IFF_LOOPBACK when they gather host
 * candidates, and `ice_enforce_list = "lo"` does not override that: left alone, Janus offers
 * the machine's other interfaces, which the benchmark must never use. This wrapper of
 * getifaddrs(3) hides every address except IPv4 on `lo` and clears that interface's
 * IFF_LOOPBACK flag, so Janus gathers exactly one host candidate: 127.0.0.1.
 * Entries are hidden by clearing their address (the list is one allocation, freed by
 * freeifaddrs(3) through its head, so nothing is unlinked). Built by bench/systems.py.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

int getifaddrs(struct ifaddrs **ifap) {
    static int (*real_getifaddrs)(struct ifaddrs **) = NULL;
    if (real_getifaddrs == NULL)
        real_getifaddrs = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    int rc = real_getifaddrs(ifap);
    if (rc != 0)
        return rc;
    for (struct ifaddrs *ifa = *ifap; ifa != NULL; ifa = ifa->ifa_next) {
        int keep = ifa->ifa_name != NULL && strcmp(ifa->ifa_name, "lo") == 0 &&
                   ifa->ifa_addr != NULL && ifa->ifa_addr->sa_family == AF_INET;
        if (keep) {
            ifa->ifa_flags &= ~IFF_LOOPBACK;
            ifa->ifa_flags |= IFF_UP | IFF_RUNNING;
        } else {
            ifa->ifa_addr = NULL;
            ifa->ifa_netmask = NULL;
            ifa->ifa_flags &= ~(IFF_UP | IFF_RUNNING);
        }
    }
    return 0;
}
