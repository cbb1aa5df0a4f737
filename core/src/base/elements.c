/* Chemical symbols of the periodic table (H..Og) and their atomic numbers. */

#include <stdio.h>
#include <string.h>

#include "gbnet.h"

#define GB_N_ELEMENTS 118

/* symbols[z] is the symbol of atomic number z; index 0 is the unknown "X". */
static const char *const symbols[GB_N_ELEMENTS + 1] = {
    "X",
    "H",  "He", "Li", "Be", "B",  "C",  "N",  "O",  "F",  "Ne",
    "Na", "Mg", "Al", "Si", "P",  "S",  "Cl", "Ar", "K",  "Ca",
    "Sc", "Ti", "V",  "Cr", "Mn", "Fe", "Co", "Ni", "Cu", "Zn",
    "Ga", "Ge", "As", "Se", "Br", "Kr", "Rb", "Sr", "Y",  "Zr",
    "Nb", "Mo", "Tc", "Ru", "Rh", "Pd", "Ag", "Cd", "In", "Sn",
    "Sb", "Te", "I",  "Xe", "Cs", "Ba", "La", "Ce", "Pr", "Nd",
    "Pm", "Sm", "Eu", "Gd", "Tb", "Dy", "Ho", "Er", "Tm", "Yb",
    "Lu", "Hf", "Ta", "W",  "Re", "Os", "Ir", "Pt", "Au", "Hg",
    "Tl", "Pb", "Bi", "Po", "At", "Rn", "Fr", "Ra", "Ac", "Th",
    "Pa", "U",  "Np", "Pu", "Am", "Cm", "Bk", "Cf", "Es", "Fm",
    "Md", "No", "Lr", "Rf", "Db", "Sg", "Bh", "Hs", "Mt", "Ds",
    "Rg", "Cn", "Nh", "Fl", "Mc", "Lv", "Ts", "Og",
};

int gbnet_atomic_number(const char *symbol) {
    if (!symbol || !symbol[0] || strlen(symbol) > 2) return 0;
    /* Symbols are case-sensitive ("Co" is cobalt, "CO" is not an element). */
    for (int z = 1; z <= GB_N_ELEMENTS; z++)
        if (symbols[z][0] == symbol[0] && strcmp(symbols[z], symbol) == 0) return z;
    return 0;
}

const char *gbnet_element_symbol(int atomic_number) {
    if (atomic_number < 1 || atomic_number > GB_N_ELEMENTS) return symbols[0];
    return symbols[atomic_number];
}

void gbnet_format_elements(char *text, size_t size, const gbnet_hyperparams *hp) {
    size_t used = 0;
    text[0] = '\0';
    for (int e = 0; e < hp->n_elements && used < size; ++e) {
        int n = snprintf(text + used, size - used, "%s%s", e ? " " : "", gbnet_element_symbol(hp->atomic_numbers[e]));
        if (n < 0) break;
        used += (size_t)n;
    }
}
