"""``subject``: species, strains, lines, alleles, subjects and their husbandry records.

Tables, keys and attributes follow IBL's ``ibl_subject`` (reference ``ibl-system.md`` §2.2),
public and internal parts together. ``Subject`` is keyed by ``subject_uuid`` (the LIMS pk); a
mouse is "alive" when it is in ``Subject - Death``.
"""

from __future__ import annotations

from . import reference  # noqa: F401 (named in the definitions)
from .schemas import Lookup, Manual, schema_for

schema = schema_for("brainlab.subject")


@schema
class Species(Lookup):
    definition = """
    binomial:               varchar(255)  # binomial
    ---
    species_uuid:           uuid
    species_nickname:       varchar(255)  # nickname
    species_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Source(Lookup):
    definition = """
    source_name:            varchar(255)  # name of source
    ---
    source_uuid:            uuid
    source_description=null:  varchar(255)
    source_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Strain(Lookup):
    definition = """
    strain_name:            varchar(255)  # strain name
    ---
    strain_uuid:            uuid
    strain_description=null:  varchar(255)
    strain_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Sequence(Lookup):
    definition = """
    sequence_name:          varchar(255)  # informal name
    ---
    sequence_uuid:          uuid
    base_pairs=null:        varchar(1024)
    sequence_description=null:  varchar(255)
    sequence_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Allele(Lookup):
    definition = """
    allele_name:            varchar(255)  # informal name
    ---
    allele_uuid:            uuid
    standard_name=null:     varchar(255)
    -> [nullable] Source.proj(allele_source='source_name')
    source_identifier=null: varchar(255)
    source_url=null:        varchar(255)
    expression_data_url=null:  varchar(255)
    allele_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class AlleleSequence(Lookup):
    definition = """
    -> Allele
    -> Sequence
    ---
    allelesequence_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Line(Lookup):
    definition = """
    line_name:              varchar(255)  # name
    ---
    -> Species
    -> [nullable] Strain
    line_uuid:              uuid
    line_description=null:  varchar(2048)
    target_phenotype=null:  varchar(255)
    line_nickname:          varchar(255)
    is_active:              boolean
    line_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class LineAllele(Lookup):
    definition = """
    -> Line
    -> Allele
    ---
    lineallele_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Subject(Manual):
    definition = """
    subject_uuid:           uuid
    ---
    subject_nickname:       varchar(255)  # nickname
    sex:                    enum("M", "F", "U")
    subject_birth_date=null:  date
    ear_mark=null:          varchar(255)
    -> [nullable] Line.proj(subject_line='line_name')
    -> [nullable] Source.proj(subject_source='source_name')
    -> [nullable] Strain.proj(subject_strain='strain_name')
    protocol_number:        tinyint       # protocol number
    subject_description=null:  varchar(1024)
    subject_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class BreedingPair(Manual):
    definition = """
    bp_name:                varchar(255)
    ---
    -> Line.proj(bp_line='line_name')
    bp_uuid:                uuid
    bp_description=null:    varchar(2048)
    bp_start_date=null:     date
    bp_end_date=null:       date
    -> [nullable] Subject.proj(father='subject_uuid')
    -> [nullable] Subject.proj(mother1='subject_uuid')
    -> [nullable] Subject.proj(mother2='subject_uuid')
    breedingpair_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Litter(Manual):
    definition = """
    litter_name:            varchar(255)
    ---
    -> [nullable] BreedingPair
    -> Line.proj(litter_line='line_name')
    litter_uuid:            uuid
    litter_descriptive_name=null:  varchar(255)
    litter_description=null:  varchar(255)
    litter_birth_date=null: date
    litter_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class LitterSubject(Manual):
    definition = """
    -> Subject
    ---
    -> Litter
    littersubject_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SubjectProject(Manual):
    definition = """
    -> Subject
    -> reference.Project.proj(subject_project='project_name')
    ---
    subjectproject_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SubjectUser(Manual):
    definition = """
    -> Subject
    ---
    -> reference.LabMember.proj(responsible_user='user_name')
    subjectuser_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SubjectLab(Manual):
    definition = """
    -> Subject
    ---
    -> reference.Lab
    subjectlab_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Caging(Manual):
    definition = """
    -> Subject
    cage_name:              varchar(255)
    ---
    caging_time=null:       datetime      # time when changed to this cage
    caging_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class UserHistory(Manual):
    definition = """
    -> Subject
    -> reference.LabMember
    ---
    user_change_time=null:  datetime      # time when changed to this user
    userhistory_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Weaning(Manual):
    definition = """
    -> Subject
    ---
    wean_date:              date
    weaning_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Food(Lookup):
    definition = """
    food_name:              varchar(255)
    ---
    food_uuid:              uuid
    food_description='':    varchar(255)
    food_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class CageType(Lookup):
    definition = """
    cage_type_name:         varchar(255)
    ---
    cage_type_uuid:         uuid
    cage_type_description='':  varchar(255)
    cage_type_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Enrichment(Lookup):
    definition = """
    enrichment_name:        varchar(255)
    ---
    enrichment_uuid:        uuid
    enrichment_description='':  varchar(255)
    enrichment_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Housing(Manual):
    definition = """
    cage_name:              varchar(255)
    ---
    housing_uuid:           uuid
    -> [nullable] Food
    -> [nullable] CageType
    -> [nullable] Enrichment
    cage_cleaning_frequency=null:  tinyint
    light_cycle=null:       tinyint
    housing_description='': varchar(255)
    housing_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SubjectHousing(Manual):
    definition = """
    -> Subject
    -> Housing
    ---
    subject_housing_uuid:   uuid
    housing_start_time=null:  datetime
    housing_end_time=null:  datetime
    subject_housing_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class GenotypeTest(Manual):
    definition = """
    -> Subject
    -> Sequence
    genotype_test_uuid:     uuid
    ---
    test_result:            enum("Present", "Absent")
    genotypetest_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Zygosity(Manual):
    definition = """
    -> Subject
    -> Allele
    ---
    zygosity_uuid:          uuid
    zygosity:               enum("Present", "Absent", "Homozygous", "Heterozygous")
    zygosity_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Implant(Manual):
    definition = """
    -> Subject
    ---
    implant_weight=null:    float         # implant weight (g)
    protocol_number=null:   varchar(255)
    implant_adverse_effects=null:  varchar(2048)
    -> [nullable] reference.Severity.proj(actual_severity='severity')
    implant_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class Death(Manual):
    definition = """
    -> Subject
    ---
    death_date:             date          # death date
    death_ts=CURRENT_TIMESTAMP:  timestamp
    """


@schema
class SubjectCullMethod(Manual):
    definition = """
    -> Subject
    ---
    cull_method:            varchar(255)
    cull_method_ts=CURRENT_TIMESTAMP:  timestamp
    """
