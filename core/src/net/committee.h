/* A committee of models sharing elements and cutoff (public handle
 * gbnet_committee): created from models here, read and written by
 * io/potential_file.c, evaluated by eval/committee.c. */
#ifndef GB_COMMITTEE_H
#define GB_COMMITTEE_H

#include "gbnet.h"

struct gbnet_committee {
    int n_members;
    gbnet_model **members; /* [n_members], owned */
};

/* Member m can sit in one committee with member 0 (same elements in the same
 * order, same cutoff); else GBNET_ERR_INVALID_ARGUMENT saying what differs,
 * with where ("potential file 'x'" or "") in front of the message. */
gbnet_status gb_committee_check_member(const gbnet_model *first, const gbnet_model *member, int m, const char *where);
/* A committee that takes ownership of models[0..n-1] (freed on failure too). */
gbnet_status gb_committee_adopt(gbnet_committee **out, gbnet_model **models, int n, const char *where);

#endif
