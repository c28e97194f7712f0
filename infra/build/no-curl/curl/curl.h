/* Empty on purpose. librdkafka 2.12's rdkafka_conf.c includes <curl/curl.h>
 * under `#ifdef WITH_OAUTHBEARER_OIDC`, which its CMake build defines (as 0)
 * even when curl is off; nothing from curl is used then (DESIGN.md §7). */
